"""`readouts worker`: one Scrapy process crawling from the shared frontier until it is stopped."""

from __future__ import annotations

from typing import Any

from crawler.cluster import keys
from crawler.config.sources import Source
from spiders.settings import BASE_SETTINGS, crawler_process


def worker_settings(redis_url: str, log_level: str = "WARNING", max_waiting: int = keys.MAX_WAITING) -> dict[str, Any]:
    """Return the Scrapy settings of a worker: scrapy-redis scheduler and dupefilter, cluster politeness."""
    middlewares = {**BASE_SETTINGS["DOWNLOADER_MIDDLEWARES"], "spiders.cluster_middlewares.SiteLeaseMiddleware": 60}
    # robots.txt once per cluster, in the local policy's place
    middlewares["spiders.cluster_middlewares.ClusterRobotsMiddleware"] = middlewares.pop(
        "spiders.middlewares.RobotsPolicyMiddleware"
    )
    settings = {k: v for k, v in BASE_SETTINGS.items() if k != "SCHEDULER_PRIORITY_QUEUE"}
    return {
        **settings,
        "LOG_LEVEL": log_level,
        "REDIS_URL": redis_url,
        "READOUTS_MAX_WAITING": max_waiting,
        "SCHEDULER": "crawler.cluster.frontier.RunScheduler",
        "DUPEFILTER_CLASS": "crawler.cluster.frontier.RunDupeFilter",
        "SCHEDULER_PERSIST": True,  # the frontier belongs to the cluster, not to this process
        "SCHEDULER_SERIALIZER": "crawler.cluster.codec",  # JSON, not pickle
        "SCHEDULER_QUEUE_CLASS": "crawler.cluster.frontier.ReliableQueue",
        "SCHEDULER_QUEUE_KEY": keys.QUEUE,
        "SCHEDULER_DUPEFILTER_KEY": keys.DUPEFILTER,
        # the delay is the cluster's (SiteLeaseMiddleware), not each process's
        "DOWNLOAD_DELAY": 0,
        # and so are a site's concurrency (its slots in Redis): a local bound would hold a cluster slot unused
        "CONCURRENT_REQUESTS_PER_DOMAIN": BASE_SETTINGS["CONCURRENT_REQUESTS"],
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": middlewares,
        "ITEM_PIPELINES": {"crawler.cluster.outbox.OutboxPipeline": 300},
    }


def run_worker(
    sources: dict[str, Source], redis_url: str, log_level: str = "WARNING", max_waiting: int = keys.MAX_WAITING
) -> None:
    """Crawl from the frontier until SIGTERM or SIGINT."""
    from spiders.cluster_spider import ClusterSpider

    process = crawler_process(worker_settings(redis_url, log_level, max_waiting))
    process.crawl(ClusterSpider, sources=sources, redis_url=redis_url)
    process.start()
