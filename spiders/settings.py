"""Scrapy settings for every crawl, in one place; per-source values come from the sources file."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import default_settings

import spiders.preload  # noqa: F401  # the http(s) handler these settings keep, loaded cheaply
from crawler.config.intervals import DEFAULT_PAGE_TIMEOUT
from crawler.config.sources import Source
from spiders.pipeline import ArchivePipeline

# Scrapy's components that BASE_SETTINGS turn off (TELNETCONSOLE_ENABLED, REMOTE_CONTROL_ENABLED,
# AUTOTHROTTLE_ENABLED, COOKIES_ENABLED; HTTPCACHE_ENABLED and MEMDEBUG_ENABLED by default): a crawl never loads them
OFF_EXTENSIONS = (
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.throttle.AutoThrottle",
    "scrapy.extensions.memdebug.MemoryDebugger",
)
OFF_DOWNLOADER_MIDDLEWARES = (
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
)


def without(components: dict[str, int], off: tuple[str, ...]) -> dict[str, int]:
    """Return a Scrapy component list without the components named in `off`."""
    missing = set(off) - components.keys()
    if missing:  # a Scrapy upgrade renamed one: fail at import, not by loading it again unnoticed
        raise KeyError(f"not among Scrapy's components: {sorted(missing)}")
    return {name: order for name, order in components.items() if name not in off}


USER_AGENT = "readouts/0.1 (+https://github.com/readouts/readouts; archive of official meeting readouts)"

BASE_SETTINGS: dict[str, Any] = {
    # identity and politeness: robots.txt obeyed, the source's concurrency and exactly its delay (no jitter), more
    # delay only for a site that is slowing down (spiders.throttle, in place of Scrapy's AutoThrottle)
    "USER_AGENT": USER_AGENT,
    "ROBOTSTXT_OBEY": True,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY_JITTER": 0.0,
    # Scrapy imports every component its lists name, even one set to None or turned off by a setting (to say so):
    # those off here are left out of its base lists, and a crawl's start skips their imports (remote control's
    # aiohttp, ~0.2 s of CPU; the cookie middleware's tldextract and requests)
    "EXTENSIONS_BASE": without(default_settings.EXTENSIONS_BASE, OFF_EXTENSIONS),
    "EXTENSIONS": {"spiders.throttle.SiteThrottle": 0},
    # keeps CONCURRENT_REQUESTS_PER_DOMAIN when a site's delay is 0 (Scrapy's own downloader then sends its whole queue)
    "DOWNLOADER": "spiders.downloader.SlotBoundDownloader",
    "READOUTS_THROTTLE_MAX_DELAY": 60.0,
    "COOKIES_ENABLED": False,
    # bounded downloads: size after decompression, whole-download deadline, redirect chains
    "DOWNLOAD_MAXSIZE": 32 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 8 * 1024 * 1024,
    "DOWNLOAD_TIMEOUT": DEFAULT_PAGE_TIMEOUT.seconds,
    "DOWNLOAD_FAIL_ON_DATALOSS": True,
    "REDIRECT_MAX_TIMES": 10,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
    # only http(s): no file:, data:, s3: or ftp: requests can be made, and no telnet console
    "DOWNLOAD_HANDLERS": {"file": None, "data": None, "s3": None, "ftp": None},
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_INSTALL_ROOT_HANDLER": True,
    # quiet by default; the CLI shows progress itself
    "LOG_LEVEL": "WARNING",
    "ITEM_PIPELINES": {ArchivePipeline: 300},  # the class itself, so a move or rename is an import error
    # runs for every request, redirects included (Scrapy's offsite filter lets dont_filter requests through)
    "DOWNLOADER_MIDDLEWARES": {
        "spiders.middlewares.AllowedHostsMiddleware": 50,
        "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
        "spiders.middlewares.RobotsPolicyMiddleware": 100,
        # answers reach it before Scrapy's RetryMiddleware (550): Retry-After is honoured before any retry
        "spiders.middlewares.BackoffMiddleware": 560,
        # sees answers before HttpCompressionMiddleware (590) decodes them: captures keep the body as received
        "spiders.middlewares.WireBodyMiddleware": 595,
    },
    "DOWNLOADER_MIDDLEWARES_BASE": without(default_settings.DOWNLOADER_MIDDLEWARES_BASE, OFF_DOWNLOADER_MIDDLEWARES),
    "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
    # Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response's output (default 100); a page yields one
    # article or a few dozen links, so 8 keep it moving at a fraction of the tasks, their CPU and their memory
    "CONCURRENT_ITEMS": 8,
    # Scrapy re-reads and parses a generator callback's source for every response (its cache is keyed on the bound
    # method, a new object each time): ~1 ms of CPU a page, to warn of a mistake the tests would show
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
}


def source_settings(source: Source) -> dict[str, Any]:
    """Return the per-spider settings for one source: its delay, concurrency, timeouts and depth.

    `max_pages` is not here: the spider counts it itself (spiders.bounds), so that a cut crawl knows where it stopped.
    """
    delay = source.delay
    return {
        "DOWNLOAD_DELAY": delay,
        "READOUTS_THROTTLE_MAX_DELAY": max(60.0, delay),
        "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency,
        "DOWNLOAD_TIMEOUT": source.page_timeout_seconds,
        "DEPTH_LIMIT": source.max_depth,
    }


def crawler_process(settings: dict[str, Any]) -> CrawlerProcess:
    """Return Scrapy's process for these settings, making no log record below their LOG_LEVEL."""
    process = CrawlerProcess(settings)
    # Scrapy opens its own logger and the root logger to every level and filters in its handler: each request's
    # DEBUG lines ("Crawled (304)", "Scraped from") were records made only to be dropped, or printed whole by any
    # other handler on the root logger (`python -m crawler.run`'s, whose output the scheduler discards)
    level = settings.get("LOG_LEVEL", "WARNING")
    logging.root.setLevel(level)
    logging.getLogger("scrapy").setLevel(level)
    return process
