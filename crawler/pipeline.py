"""The Scrapy item pipeline: extract (in a worker pool) -> strip the site's template -> hash -> archive."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Container
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler

from crawler import boilerplate
from crawler.config import Source
from crawler.extract import Extracted, Failure
from crawler.extractor_pool import ExtractorPool
from crawler.soft404 import looks_missing
from storage.archive import (
    CHANGED,
    DUPLICATE,
    FAILED,
    GONE,
    MOVED,
    NEW_DOCUMENT,
    UNCHANGED,
    Archive,
    ArticleText,
    PageRecord,
)
from storage.changes import latest_captures
from storage.clock import utcnow
from storage.recheck import DEFAULT_RECHECK_EVERY
from storage.warc import CaptureRef, Original, WarcStore, payload_digest

logger = logging.getLogger(__name__)

# a site's first pages are held back until this many are known, so its template lines can be learned first
TEMPLATE_WARMUP_PAGES = 4


@dataclass
class RunTally:
    """Counts shared by every source crawled in one run."""

    pages_fetched: int = 0
    new_pages: int = 0
    new_documents: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: int = 0
    rechecked: int = 0
    unchanged: int = 0
    changed: int = 0
    gone: int = 0
    moved: int = 0
    recleaned: int = 0  # archived pages cleaned again of a template learned later
    notified: int = 0
    notify_pending: int = 0
    error_samples: list[dict[str, str]] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)  # source -> why its crawl ended early
    bounded: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> what its bound left for later

    def counts(self) -> dict[str, int]:
        """Return the counters the runs table keeps."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int) and not k.startswith("notif")}

    def error(self, url: str, reason: str) -> None:
        """Count an error and keep a sample of it."""
        self.errors += 1
        if len(self.error_samples) < 50:
            self.error_samples.append({"url": url, "error": reason})


@dataclass
class _Pending:
    """An extracted page waiting for its site's template to be known (or a listing page, only learned from)."""

    item: dict[str, Any]
    extracted: Extracted | None  # None: a listing page, counted for the template and never archived
    new: bool
    keys: set[str]  # the keys of its lines, for template learning


@dataclass
class CrawlContext:
    """What every spider of one run shares: the archive, the extraction pool and the counts."""

    archive: Archive
    pool: ExtractorPool
    tally: RunTally
    warc: WarcStore
    # one thread writes the WARC files, in order: gzip and fsync release the GIL, so the reactor goes on meanwhile
    warc_writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "warc-writer"))
    # one flush of a site at a time, across its sources: a page cleaned with a template must be stored before a
    # later flush learns more of that template and re-cleans the site's archived pages
    site_locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    def __deepcopy__(self, memo: dict[int, Any]) -> CrawlContext:
        """Stay shared when Scrapy deep-copies its settings."""
        return self


class ArchivePipeline:
    """Turn each fetched article page into an archive row."""

    def __init__(self, context: CrawlContext, source: Source | None, known: Container[str] = frozenset()) -> None:
        """Take the shared archive, extractor pool and tally, the source's settings and its archived URLs."""
        self.archive, self.pool, self.tally, self.warc = context.archive, context.pool, context.tally, context.warc
        self.warc_writer, self.site_locks = context.warc_writer, context.site_locks
        self.known = known
        self.language: str | None = getattr(source, "language", None)
        self.extract_timeout: float | None = getattr(source, "extract_timeout_seconds", None)
        self.recheck_every: float = getattr(source, "recheck_every_seconds", DEFAULT_RECHECK_EVERY)
        self.source = source
        self.pending: dict[str, list[_Pending]] = defaultdict(list)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Build the pipeline for a crawler: the context from its settings, the source from its spider class."""
        spidercls = crawler.spidercls
        known: Container[str] = getattr(spidercls, "known_urls", frozenset())
        return cls(crawler.settings["READOUTS_CONTEXT"], getattr(spidercls, "source", None), known)

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Extract, clean, hash and archive one article page (or record its failure, or a re-check's answer)."""
        if item.get("listing"):
            await self._learn_listing(item)
            return _summary(item)
        self.tally.pages_fetched += 1
        item["fetched_at"] = utcnow()
        url, host, status = item["url"], urlsplit(item["url"]).hostname or "", item["status"]
        recheck = bool(item.get("recheck"))
        self.tally.rechecked += recheck
        if item.get("error"):
            self.tally.error(url, item["error"])
            if not recheck:  # a known page that fails to answer keeps its text and stays due
                self._store(item, host, None, item["error"])
            return _summary(item)
        if recheck and status == 304:
            self._count(self.archive.record_not_modified(self._page(item, host)))
            return _summary(item)
        target = item.get("location") or ""
        if recheck and 300 <= status < 400 and not self._gone_page(target):
            self._count(self.archive.record_moved(self._page(item, host), target))
            return _summary(item)
        if recheck and (300 <= status < 400 or self._gone_page(item["final_url"])):
            where = target or item["final_url"]
            self._count(self.archive.record_gone(self._page(item, host, error=f"soft 404: the site's {where}")))
            return _summary(item)
        if recheck and status in (404, 410):
            self._count(self.archive.record_gone(self._page(item, host, error=f"HTTP {status}")))
            return _summary(item)
        item["capture"] = await self._capture(item)
        if self._gone_page(item["final_url"]):
            self._store(item, host, None, f"soft 404: redirected to the site's {item['final_url']}")
            return _summary(item)
        result = await self.pool.extract(
            item["body"], item["final_url"], item.get("content_type"), self.language, timeout=self.extract_timeout
        )
        if recheck and (isinstance(result, Failure) or looks_missing(result)):
            reason = result.reason if isinstance(result, Failure) else "the page says it is not there"
            self._count(self.archive.record_gone(self._page(item, host, error=f"soft 404: {reason}")))
            return _summary(item)
        if isinstance(result, Failure):
            logger.info("no article text at %s: %s", url, result.reason)
            self._store(item, host, None, result.reason)
            return _summary(item)
        if looks_missing(result):
            self._store(item, host, None, "soft 404: the page says it is not there")
            return _summary(item)
        keys = boilerplate.page_keys(result.lines)
        await self._hold(host, _Pending(item, result, new=url not in self.known, keys=keys))
        return _summary(item)

    async def _learn_listing(self, item: dict[str, Any]) -> None:
        """Count the lines of a listing page not counted before among its site's pages (it is never archived)."""
        url, host = item["url"], urlsplit(item["url"]).hostname or ""
        if self.archive.listing_counted(url) or any(p.item["url"] == url for p in self.pending.get(host, [])):
            return
        lines = await self.pool.page_lines(item["body"], item.get("content_type"), timeout=self.extract_timeout)
        if lines:
            await self._hold(host, _Pending(item, None, new=True, keys=boilerplate.page_keys(lines)))

    async def _hold(self, host: str, pending: _Pending) -> None:
        """Hold a page back until enough pages of its site are known to learn the template, then flush them."""
        self.pending[host].append(pending)
        if self.archive.site_page_count(host) + len(self.pending[host]) >= TEMPLATE_WARMUP_PAGES:
            await self.flush(host)

    def _gone_page(self, url: str) -> bool:
        """Return True when the source says this URL is its page for deleted articles."""
        return bool(url) and self.source is not None and self.source.is_gone_page(url)

    async def _capture(self, item: dict[str, Any]) -> CaptureRef | None:
        """Keep the response as a WARC record (a revisit record when an identical payload is stored already)."""
        if item["status"] != 200 or not item["body"]:
            return None
        wire = item.get("wire_body")
        original = self.archive.original_capture(payload_digest(item["body"] if wire is None else wire))
        write = functools.partial(
            self.warc.write,
            item["url"],
            item["fetched_at"],
            item["status"],
            item.get("headers") or [],
            item["body"],
            item.get("request_headers") or [],
            original=Original(*original) if original else None,
            metadata={"readouts-source": item["source"], "readouts-final-url": item["final_url"]},
            wire=wire,
        )
        return await asyncio.get_running_loop().run_in_executor(self.warc_writer, write)

    def _page(self, item: dict[str, Any], host: str, error: str | None = None) -> PageRecord:
        """Return the archive record of a page that yielded no article text."""
        return PageRecord(
            url=item["url"],
            source=item["source"],
            host=host,
            status=item["status"],
            error=error,
            etag=item.get("etag"),
            last_modified=item.get("last_modified"),
            content_type=item.get("content_type"),
            fetched_at=item["fetched_at"],
            capture=item.get("capture"),
            recheck_every=self.recheck_every,
        )

    def _count(self, outcome: str) -> None:
        """Count a re-check's outcome."""
        if outcome == UNCHANGED:
            self.tally.unchanged += 1
        elif outcome == CHANGED:
            self.tally.changed += 1
        elif outcome == GONE:
            self.tally.gone += 1
        elif outcome == MOVED:
            self.tally.moved += 1

    async def close_spider(self) -> None:
        """Archive the pages still held back for template learning."""
        for host in list(self.pending):
            await self.flush(host)

    async def flush(self, host: str) -> None:
        """Learn the host's template from its held-back pages, clean what was archived before it, archive them."""
        async with self.site_locks[host]:  # flushes interleaved at their awaits made re-cleaning order-dependent
            await self._flush(host)

    async def _flush(self, host: str) -> None:
        """Flush the host's held-back pages; the caller holds the site's lock."""
        batch = self.pending.pop(host, [])
        listings = {p.item["url"]: p.keys for p in batch if p.extracted is None}
        self.archive.add_site_lines(host, [p.keys for p in batch if p.new and p.extracted is not None], listings)
        keys = set().union(*(p.keys for p in batch))
        # only the lines at hand: sites grow large
        template = boilerplate.site_template(self.archive.site_line_counts(host, keys))
        learned = template - self.archive.applied_template(host, template)
        if learned:  # before the batch is stored, so a re-checked page is compared with its cleaned text
            await self._reclean(host, frozenset(learned))
            self.archive.mark_template_applied(host, learned)
        for pending in batch:
            if pending.extracted is None:
                continue
            article = await self.pool.article(pending.extracted, template, timeout=self.extract_timeout)
            if isinstance(article, Failure):
                self._store(pending.item, host, None, article.reason)
            else:
                self._store(pending.item, host, article, None if article else "empty after cleaning")

    async def _reclean(self, host: str, learned: frozenset[str]) -> None:
        """Clean the archived pages of a host that start or end with newly learned template lines, from their captures.

        A re-cleaning is not an edit by the publisher: the archive moves the page to its clean text without an event.
        """
        stale = [
            page_id for page_id, text in self.archive.host_texts(host) if boilerplate.has_template_edge(text, learned)
        ]
        for start in range(0, len(stale), 500):
            for row in latest_captures(self.archive.db, page_ids=stale[start : start + 500]):
                article = await self._clean_capture(host, row)
                if article is not None and self.archive.recleaned(row["page_id"], article):
                    self.tally.recleaned += 1

    async def _clean_capture(self, host: str, row: dict[str, Any]) -> ArticleText | None:
        """Extract a stored capture again and clean it with the host's template as known now (None: it fails)."""
        loop = asyncio.get_running_loop()
        try:
            captured = await loop.run_in_executor(None, self.warc.read, row["warc_file"], row["warc_offset"])
        except (OSError, ValueError) as exc:
            logger.warning("cannot re-clean %s: its capture is unreadable: %s", row["url"], exc)
            return None
        content_type = next((v for k, v in captured.headers if k.lower() == "content-type"), None)
        extracted = await self.pool.extract(
            captured.body, row["url"], content_type, self.language, timeout=self.extract_timeout
        )
        if isinstance(extracted, Failure):
            return None
        keys = boilerplate.page_keys(extracted.lines)
        template = boilerplate.site_template(self.archive.site_line_counts(host, keys))
        article = await self.pool.article(extracted, template, timeout=self.extract_timeout)
        return article if isinstance(article, ArticleText) else None

    def _store(self, item: dict[str, Any], host: str, article: ArticleText | None, error: str | None) -> None:
        """Write one page to the archive and count the outcome."""
        record = replace(self._page(item, host, error), article=article)
        outcome, page_created = self.archive.record(record)
        if outcome == FAILED:
            self.tally.failed += 1
        if page_created:
            self.tally.new_pages += 1
        if outcome == NEW_DOCUMENT:
            self.tally.new_documents += 1
        elif outcome == DUPLICATE:
            self.tally.duplicates += 1
        else:
            self._count(outcome)


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """Return the item without its body, so logs and feeds stay small."""
    return {k: v for k, v in item.items() if k != "body"}
