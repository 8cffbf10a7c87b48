"""Cluster politeness: a source's delay spaces the requests that all workers together send to its site."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler

from crawler.cluster import keys

MIN_WAIT_S = 0.005


def lease_ms(delay: float) -> int:
    """Return how long one request holds its site's lease: the source's delay, in whole milliseconds."""
    return round(delay * 1000)


class SiteLeaseMiddleware:
    """Send a request to a site only while holding its lease (SET NX PX in Redis, expiring after the delay).

    Whoever sets the key may send; everyone else waits for it to expire. So two requests to one site, from any
    workers, start at least the source's delay apart. (Lua-free: one atomic command.)
    """

    def __init__(self, crawler: Crawler) -> None:
        """Connect to the cluster's Redis."""
        self.crawler = crawler
        self.redis = keys.connect(crawler.settings["REDIS_URL"])

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteLeaseMiddleware:
        """Build the middleware for a crawler."""
        return cls(crawler)

    def _delay(self, request: Request) -> float:
        """Return the delay of the request's source (0 when the request belongs to none, e.g. robots.txt)."""
        sources = getattr(self.crawler.spider, "sources", {})
        source = sources.get(request.meta.get("source"))
        return float(source.delay) if source is not None else 0.0

    async def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        """Wait until this worker holds the site's lease, then let the request go."""
        ttl = lease_ms(self._delay(request))
        if ttl <= 0:
            return None
        key = keys.site_lease(urlsplit(request.url).hostname or "")
        while not self.redis.set(key, self.crawler.spider.name if self.crawler.spider else "-", nx=True, px=ttl):
            left = self.redis.pttl(key)
            await asyncio.sleep(max(left / 1000, MIN_WAIT_S))
        return None
