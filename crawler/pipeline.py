"""The Scrapy item pipeline: extract (in a worker pool) -> strip the site's template -> hash -> archive."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler

from crawler import boilerplate
from crawler.extract import Extracted, Failure
from crawler.extractor_pool import ExtractorPool
from crawler.fingerprint import content_hash, normalise
from storage.archive import DUPLICATE, FAILED, NEW_DOCUMENT, Archive, ArticleText, PageRecord

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
    error_samples: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the counters as a dict."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}

    def error(self, url: str, reason: str) -> None:
        """Count an error and keep a sample of it."""
        self.errors += 1
        if len(self.error_samples) < 50:
            self.error_samples.append({"url": url, "error": reason})


@dataclass
class _Pending:
    """An extracted page waiting for its site's template to be known."""

    item: dict[str, Any]
    extracted: Extracted
    new: bool


@dataclass
class CrawlContext:
    """What every spider of one run shares: the archive, the extraction pool and the counts."""

    archive: Archive
    pool: ExtractorPool
    tally: RunTally

    def __deepcopy__(self, memo: dict[int, Any]) -> CrawlContext:
        """Stay shared when Scrapy deep-copies its settings."""
        return self


class ArchivePipeline:
    """Turn each fetched article page into an archive row."""

    def __init__(self, crawler: Crawler) -> None:
        """Take the shared archive, extractor pool and tally from the crawler's settings."""
        self.crawler = crawler
        context: CrawlContext = crawler.settings["READOUTS_CONTEXT"]
        self.archive, self.pool, self.tally = context.archive, context.pool, context.tally
        self.known: frozenset[str] = getattr(crawler.spidercls, "known_urls", frozenset())
        self.language: str | None = getattr(getattr(crawler.spidercls, "source", None), "language", None)
        self.pending: dict[str, list[_Pending]] = defaultdict(list)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Build the pipeline for a crawler."""
        return cls(crawler)

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        """Extract, clean, hash and archive one article page (or record its failure)."""
        self.tally.pages_fetched += 1
        url, host = item["url"], urlsplit(item["url"]).hostname or ""
        if item.get("error"):
            self.tally.error(url, item["error"])
            self._store(item, host, None, item["error"])
            return _summary(item)
        result = await self.pool.extract(item["body"], item["final_url"], item.get("content_type"), self.language)
        if isinstance(result, Failure):
            logger.info("no article text at %s: %s", url, result.reason)
            self._store(item, host, None, result.reason)
            return _summary(item)
        self.pending[host].append(_Pending(item, result, new=url not in self.known))
        _, known_pages = self.archive.site_line_counts(host)
        if known_pages + len(self.pending[host]) >= TEMPLATE_WARMUP_PAGES:
            self.flush(host)
        return _summary(item)

    async def close_spider(self) -> None:
        """Archive the pages still held back for template learning."""
        for host in list(self.pending):
            self.flush(host)

    def flush(self, host: str) -> None:
        """Learn the host's template from its held-back pages, then archive them."""
        batch = self.pending.pop(host, [])
        self.archive.add_site_lines(host, [boilerplate.page_keys(p.extracted.lines) for p in batch if p.new])
        counts, pages = self.archive.site_line_counts(host)
        template = boilerplate.template_keys(counts, pages)
        for pending in batch:
            lines = boilerplate.strip_template(pending.extracted.lines, template)
            self._store(pending.item, host, (pending.extracted, lines), None)

    def _store(
        self, item: dict[str, Any], host: str, article: tuple[Extracted, tuple[str, ...]] | None, error: str | None
    ) -> None:
        """Write one page to the archive and count the outcome."""
        # keep the text as published (typographic quotes, full-width punctuation); only the hash is normalised
        text = "\n".join(article[1]) if article else ""
        if article and not normalise(text):
            article, error = None, "empty after cleaning"
        art = None
        if article:
            ext = article[0]
            art = ArticleText(
                content_hash=content_hash(text),
                text=text,
                title=ext.title,
                published=ext.published,
                language=ext.language,
                author=ext.author,
                sitename=ext.sitename,
            )
        record = PageRecord(
            url=item["url"],
            source=item["source"],
            host=host,
            status=item["status"],
            article=art,
            error=error,
            etag=item.get("etag"),
            last_modified=item.get("last_modified"),
            content_type=item.get("content_type"),
        )
        outcome, page_created = self.archive.record(record)
        if outcome == FAILED:
            self.tally.failed += 1
        if page_created:
            self.tally.new_pages += 1
        if outcome == NEW_DOCUMENT:
            self.tally.new_documents += 1
        elif outcome == DUPLICATE:
            self.tally.duplicates += 1


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """Return the item without its body, so logs and feeds stay small."""
    return {k: v for k, v in item.items() if k != "body"}
