"""The worker's item pipeline: each page fetched goes to the writer through Redis, as explicit JSON."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.cluster import codec, keys
from crawler.cluster.frontier import INFLIGHT_META, acknowledge


class OutboxPipeline:
    """Push every page (article, failure, listing) onto the results list the writer reads."""

    def __init__(self, crawler: Crawler) -> None:
        """Connect to the cluster's Redis."""
        self.crawler = crawler
        self.redis = keys.connect(crawler.settings["REDIS_URL"])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutboxPipeline:
        """Build the pipeline for a crawler."""
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Send the page to the writer, then let go of its request; return it without its body (logs stay small)."""
        token = item.pop(INFLIGHT_META, None)
        self.redis.lpush(keys.RESULTS, codec.dumps(item))
        acknowledge(self.redis, self.crawler.spider.worker_id, token)  # type: ignore[union-attr]
        return {k: v for k, v in item.items() if k not in ("body", "wire_body")}
