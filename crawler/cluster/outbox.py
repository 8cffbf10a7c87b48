"""The worker's item pipeline: each page is extracted here, then pushed to the writer through Redis as JSON.

Extraction runs in the workers, and so does the cut of the site's template (as the writer last published it),
hashing and fingerprinting: adding workers adds them; the writer keeps a worker's cut when its own template agrees
on the page's lines, else cuts again, and records. When the writer falls behind (or is stopped), results waiting
reach the bound: the worker holds its results and takes no new work (crawler.cluster.frontier) until there is room.
"""

from __future__ import annotations

import asyncio
import logging
from time import time
from typing import Any
from urllib.parse import urlsplit

from redis import exceptions as redis_errors
from scrapy.crawler import Crawler

from crawler.cluster import codec, keys
from crawler.cluster.frontier import ENQUEUE_TRIES, INFLIGHT_META, acknowledge
from crawler.cluster.templates import PublishedTemplates
from crawler.extraction import boilerplate
from crawler.extraction.pool import ExtractorPool
from crawler.model import Extracted, Failure
from spiders.pipeline import Cut, Extraction

logger = logging.getLogger(__name__)
HOLD_STEP_S = 0.2  # how often a held result looks for room among the results waiting


def results_full(redis: Any, max_waiting: int) -> bool:
    """Return True when the results waiting for the writer reached the bound (back-pressure)."""
    return bool(redis.llen(keys.RESULTS) >= max_waiting)


class OutboxPipeline:
    """Extract every page (article: its text; listing page: its lines) and push it onto the writer's list."""

    def __init__(self, crawler: Crawler) -> None:
        """Connect to the cluster's Redis and start the extraction pool."""
        self.crawler = crawler
        self.redis = keys.connect(crawler.settings["REDIS_URL"])
        self.max_waiting = crawler.settings.getint("READOUTS_MAX_WAITING", keys.MAX_WAITING)
        self.pool = ExtractorPool()
        self.templates = PublishedTemplates(self.redis)
        self.holding = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutboxPipeline:
        """Build the pipeline for a crawler."""
        return cls(crawler)

    def close_spider(self) -> None:
        """Stop the extraction pool."""
        self.pool.close()

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Extract the page, wait for room, send it to the writer, then let go of its request (item without body)."""
        token = item.pop(INFLIGHT_META, None)
        extraction = await self._extract(item)
        if extraction is not None:
            item["extraction"] = codec.extraction_record(extraction)
        if isinstance(extraction, Extracted):
            cut = await self._cut(item, extraction)
            item["cut"] = codec.cut_record(cut) if cut is not None else None
        await self._room()
        await self._send(item)
        acknowledge(self.redis, self.crawler.spider.worker_id, token)  # type: ignore[union-attr]
        return {k: v for k, v in item.items() if k not in ("body", "wire_body")}

    async def _send(self, item: dict[str, Any]) -> None:
        """Push the result for the writer, trying again while Redis is away (a result sent twice is recorded once)."""
        for attempt in range(ENQUEUE_TRIES + 1):
            try:
                with self.redis.pipeline() as pipe:  # MULTI: a result counts for its run while it waits
                    pipe.lpush(keys.RESULTS, codec.dumps(item))
                    pipe.sadd(keys.waiting(int(item["run_id"])), item["result_id"])
                    pipe.execute()
                return
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                if attempt == ENQUEUE_TRIES:
                    raise
                logger.warning("cannot send %s to the writer now (try %d): %s", item["url"], attempt + 1, exc)
                await asyncio.sleep(1.0)

    async def _extract(self, item: dict[str, Any]) -> Extraction | None:
        """Return the page's extraction (None: nothing to extract, e.g. an error or a 304)."""
        source = self.crawler.spider.sources.get(item.get("source"))  # type: ignore[union-attr]
        if source is None or not item.get("body") or item.get("error") or item.get("listing_error"):
            return None
        timeout = source.extract_timeout_seconds
        if item.get("listing"):
            return await self.pool.page_lines(item["body"], item.get("content_type"), timeout=timeout)
        if item.get("status") != 200:
            return None
        body, url, content_type = item["body"], item.get("final_url") or item["url"], item.get("content_type")
        return await self.pool.extract(body, url, content_type, source.language, timeout=timeout)

    async def _cut(self, item: dict[str, Any], extracted: Extracted) -> Cut | None:
        """Return the article cut of its site's template as last published (None: the cut failed here)."""
        version, template = self.templates.get(urlsplit(item["url"]).hostname or "")
        timeout = self.crawler.spider.sources[item["source"]].extract_timeout_seconds  # type: ignore[union-attr]
        article = await self.pool.article(extracted, template, timeout=timeout)
        if isinstance(article, Failure):
            return None
        return Cut(article, template & boilerplate.page_keys(extracted.lines), version)

    async def _room(self) -> None:
        """Wait while the results waiting for the writer are at their bound (or until this worker is stopped)."""
        if not results_full(self.redis, self.max_waiting):
            return
        spider: Any = self.crawler.spider
        self.holding += 1
        spider.held = {"holding": self.holding, "holding_since": spider.held.get("holding_since", time())}
        engine = self.crawler.engine
        try:  # a worker being stopped sends what it holds (past the bound, by that much) rather than hang
            while results_full(self.redis, self.max_waiting) and engine is not None and engine.running:
                await asyncio.sleep(HOLD_STEP_S)
        finally:
            self.holding -= 1
            spider.held = {**spider.held, "holding": self.holding} if self.holding else {"holding": 0}
