"""The Scrapy item pipeline: extract (in a worker pool) -> strip the site's template -> hash -> archive."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Container
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config.sources import Source
from crawler.extraction import boilerplate
from crawler.extraction.pool import ExtractorPool
from crawler.extraction.soft404 import looks_missing
from crawler.model import Extracted, Failure, FetchedPage, Outcome
from crawler.monitor.classify import Answer, Verdict, classify
from storage.archive import Archive, ArticleText, PageRecord
from storage.changes import latest_captures
from storage.clock import utcnow
from storage.warc import CaptureRef, Original, WarcStore, payload_digest

if TYPE_CHECKING:
    from spiders.source_spider import SourceSpider

logger = logging.getLogger(__name__)

# the tally's counter of each outcome the archive gives
TALLIED = {
    Outcome.NEW_DOCUMENT: "new_documents",
    Outcome.DUPLICATE: "duplicates",
    Outcome.FAILED: "failed",
    Outcome.UNCHANGED: "unchanged",
    Outcome.CHANGED: "changed",
    Outcome.GONE: "gone",
    Outcome.MOVED: "moved",
}
Extraction = Extracted | Failure | tuple[str, ...]  # an article's extraction, or a listing page's lines


@dataclass(frozen=True)
class Cut:
    """An article cut of its site's template elsewhere (a cluster worker), with the template lines it cut by."""

    article: ArticleText | None  # None: nothing left after the cut
    used: frozenset[str]  # the template line keys among the page's lines: the cut depends on these alone
    version: int  # the version of the site's published template it was cut with


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

    def count(self, outcome: Outcome) -> None:
        """Count what the archive did with a page."""
        name = TALLIED.get(outcome)
        if name:
            setattr(self, name, getattr(self, name) + 1)

    def error(self, url: str, reason: str) -> None:
        """Count an error and keep a sample of it."""
        self.errors += 1
        if len(self.error_samples) < 50:
            self.error_samples.append({"url": url, "error": reason})


@dataclass
class _Got:
    """A fetched page as the pipeline handles it: when it came, and the WARC record of its body once written."""

    page: FetchedPage
    fetched_at: str
    capture: CaptureRef | None = None


@dataclass
class _Pending:
    """An extracted page waiting for its site's template to be known (or a listing page, only learned from)."""

    got: _Got
    extracted: Extracted | None  # None: a listing page, counted for the template and never archived
    new: bool
    keys: set[str]  # the keys of its lines, for template learning
    cut: Cut | None = None  # its cut made by a worker, kept when the template at flush agrees on its lines


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
    # told each site whose pages were flushed (the cluster's writer publishes the site's template to workers)
    flushed: Callable[[str], None] | None = None
    cuts: Counter[str] = field(default_factory=Counter)  # workers' cuts "kept", and "recut" by a newer template
    # each site's template as its last flush knew it: a page is cut of it in the worker that extracts it
    templates: dict[str, frozenset[str]] = field(default_factory=dict)


class ArchivePipeline:
    """Turn each fetched article page into an archive row."""

    def __init__(self, context: CrawlContext, source: Source, known: Container[str]) -> None:
        """Take the run's shared archive, extraction pool and tally, the source's settings and its archived URLs."""
        self.archive, self.pool, self.tally, self.warc = context.archive, context.pool, context.tally, context.warc
        self.warc_writer, self.site_locks = context.warc_writer, context.site_locks
        self.flushed, self.cuts, self.templates = context.flushed, context.cuts, context.templates
        self.known = known
        self.source = source
        self.language = source.language
        self.extract_timeout: float | None = source.extract_timeout_seconds
        self.recheck_every: float = source.recheck_every_seconds
        self.pending: dict[str, list[_Pending]] = defaultdict(list)
        self.warmed: set[str] = set()  # hosts with enough counted pages: a count only grows, so it is not read again

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        """Build the pipeline from the spider class the crawl made for one source (SourceSpider.for_source)."""
        spider = cast("type[SourceSpider]", crawler.spidercls)
        if spider.context is None:
            raise NotConfigured("the spider was made without a crawl context (no archive to write to)")
        return cls(spider.context, spider.source, spider.known_urls)

    async def process_item(
        self, item: FetchedPage, *, extracted: Extraction | None = None, cut: Cut | None = None
    ) -> FetchedPage:
        """Extract, clean, hash and archive one article page (or record its failure, or a re-check's answer).

        `extracted`: the page's extraction (a listing page's lines) when it was made elsewhere (a cluster worker);
        `cut`: its article cut of the site's template there too.
        """
        if item.listing:
            await self._learn_listing(item, extracted if isinstance(extracted, tuple) else None)
            return _summary(item)
        self.tally.pages_fetched += 1
        got = _Got(item, fetched_at=utcnow())
        url, host, status = got.page.url, urlsplit(got.page.url).hostname or "", got.page.status
        recheck = bool(got.page.recheck)
        self.tally.rechecked += recheck
        answer = Answer(
            status=status,
            recheck=recheck,
            error=got.page.error,
            location=got.page.location or "",
            final_url=got.page.final_url,
            location_is_gone_page=self._gone_page(got.page.location or ""),
            final_is_gone_page=self._gone_page(got.page.final_url),
        )
        verdict = classify(answer)
        if verdict.outcome == Outcome.ERROR:
            self.tally.error(url, verdict.reason or "")
            if not recheck:  # a known page that fails to answer keeps its text and stays due
                self._store(got, host, None, verdict.reason)
            return _summary(item)
        if verdict.outcome in (Outcome.UNCHANGED, Outcome.MOVED, Outcome.GONE):
            self._settle(got, host, verdict)
            return _summary(item)
        if verdict.outcome == Outcome.FAILED:
            got.capture = await self._capture(got)
            self._store(got, host, None, verdict.reason)
            return _summary(item)
        # the capture is written (and put on disk) while a worker extracts: neither waits for the other
        got.capture, made = await asyncio.gather(self._capture(got), self._extraction(got.page, host, extracted, cut))
        result, cut, keys = made
        failure = result.reason if isinstance(result, Failure) else None
        missing = isinstance(result, Extracted) and looks_missing(result)
        verdict = classify(replace(answer, extracted=True, failure=failure, missing=missing))
        if verdict.outcome == Outcome.GONE:
            self._settle(got, host, verdict)
            return _summary(item)
        if verdict.outcome == Outcome.FAILED:
            if failure:
                logger.info("no article text at %s: %s", url, failure)
            self._store(got, host, None, verdict.reason)
            return _summary(item)
        assert isinstance(result, Extracted)  # classify() gives ARTICLE only to an extracted text
        keys = keys if keys is not None else boilerplate.page_keys(result.lines)
        await self._hold(host, _Pending(got, result, new=url not in self.known, keys=keys, cut=cut))
        return _summary(item)

    async def _extraction(
        self, page: FetchedPage, host: str, extracted: Extraction | None, cut: Cut | None
    ) -> tuple[Extracted | Failure, Cut | None, set[str] | None]:
        """Return the page's extraction, its cut of the site's template and its line keys (None: not known yet).

        Made elsewhere (a cluster worker), or now by one worker task with the site's template as last flushed.
        """
        if isinstance(extracted, Extracted | Failure):
            return extracted, cut, None
        made = await self.pool.extract_cut(
            page.body,
            page.final_url,
            page.content_type,
            self.language,
            self.templates.get(host, frozenset()),
            timeout=self.extract_timeout,
        )
        here = Cut(made.article, made.used, 0) if made.used is not None else None
        return made.extracted, here, set(made.keys) if isinstance(made.extracted, Extracted) else None

    async def _learn_listing(self, item: FetchedPage, lines: tuple[str, ...] | None = None) -> None:
        """Count the lines of a listing page not counted before among its site's pages (it is never archived)."""
        url, host = item.url, urlsplit(item.url).hostname or ""
        if self.archive.listing_counted(url) or any(p.got.page.url == url for p in self.pending.get(host, [])):
            return
        if lines is None:
            lines = await self.pool.page_lines(item.body, item.content_type, timeout=self.extract_timeout)
        if lines:
            got = _Got(item, fetched_at=utcnow())
            await self._hold(host, _Pending(got, None, new=True, keys=boilerplate.page_keys(lines)))

    async def _hold(self, host: str, pending: _Pending) -> None:
        """Hold a page back until enough pages of its site are known to learn the template, then flush them."""
        self.pending[host].append(pending)
        if self._counted_pages(host) + len(self.pending[host]) >= TEMPLATE_WARMUP_PAGES:
            await self.flush(host)

    def _counted_pages(self, host: str) -> int:
        """Return how many pages of the host have had their lines counted, or the warm-up's size once it has been
        reached."""
        if host in self.warmed:
            return TEMPLATE_WARMUP_PAGES
        counted = self.archive.site_page_count(host)
        if counted >= TEMPLATE_WARMUP_PAGES:
            self.warmed.add(host)
        return counted

    def _gone_page(self, url: str) -> bool:
        """Return True when the source says this URL is its page for deleted articles."""
        return bool(url) and self.source.is_gone_page(url)

    async def _capture(self, got: _Got) -> CaptureRef | None:
        """Keep the response as a WARC record (a revisit record when an identical payload is stored already)."""
        if got.page.status != 200 or not got.page.body:
            return None
        wire = got.page.wire_body
        digest = payload_digest(got.page.body if wire is None else wire)
        original = self.archive.original_capture(digest)
        write = functools.partial(
            self.warc.write,
            got.page.url,
            got.fetched_at,
            got.page.status,
            got.page.headers,
            got.page.body,
            got.page.request_headers,
            original=Original(*original) if original else None,
            metadata={"readouts-source": got.page.source, "readouts-final-url": got.page.final_url},
            wire=wire,
            digest=digest,
            sync=False,
        )
        loop = asyncio.get_running_loop()
        ref = await loop.run_in_executor(self.warc_writer, write)
        # one fsync for every record written before it (the writer runs in order): pages that came together share
        # it, and each page's record is on disk before the archive refers to it
        await loop.run_in_executor(self.warc_writer, self.warc.sync)
        return ref

    def _page(self, got: _Got, host: str, error: str | None = None) -> PageRecord:
        """Return the archive record of a page that yielded no article text."""
        return PageRecord(
            url=got.page.url,
            source=got.page.source,
            host=host,
            status=got.page.status,
            error=error,
            etag=got.page.etag,
            last_modified=got.page.last_modified,
            content_type=got.page.content_type,
            fetched_at=got.fetched_at,
            capture=got.capture,
            recheck_every=self.recheck_every,
        )

    def _settle(self, got: _Got, host: str, verdict: Verdict) -> None:
        """Record a known page's answer that needs no text: unchanged, moved or gone."""
        page = self._page(got, host, error=verdict.reason)
        if verdict.outcome == Outcome.UNCHANGED:
            outcome = self.archive.record_not_modified(page)
        elif verdict.outcome == Outcome.MOVED:
            outcome = self.archive.record_moved(page, verdict.target or "")
        else:
            outcome = self.archive.record_gone(page)
        self.tally.count(Outcome(outcome))

    def holding(self) -> list[FetchedPage]:
        """Return the pages held back for template learning, not archived yet."""
        return [p.got.page for batch in self.pending.values() for p in batch]

    async def close_spider(self) -> None:
        """Archive the pages still held back for template learning."""
        for host in list(self.pending):
            await self.flush(host)

    async def flush(self, host: str) -> None:
        """Learn the host's template from its held-back pages, clean what was archived before it, archive them."""
        async with self.site_locks[host]:  # flushes interleaved at their awaits made re-cleaning order-dependent
            await self._flush(host)
        if self.flushed is not None:
            self.flushed(host)

    async def _flush(self, host: str) -> None:
        """Flush the host's held-back pages; the caller holds the site's lock."""
        batch = self.pending.pop(host, [])
        listings = {p.got.page.url: p.keys for p in batch if p.extracted is None}
        self.archive.add_site_lines(host, [p.keys for p in batch if p.new and p.extracted is not None], listings)
        keys = set().union(*(p.keys for p in batch))
        # only the lines at hand: sites grow large
        template = boilerplate.site_template(self.archive.site_line_counts(host, keys))
        # the batch's lines are as this flush counted them; the site's other lines as an earlier flush did
        self.templates[host] = (self.templates.get(host, frozenset()) - keys) | template
        learned = template - self.archive.applied_template(host, template)
        if learned:  # before the batch is stored, so a re-checked page is compared with its cleaned text
            await self._reclean(host, frozenset(learned))
            self.archive.mark_template_applied(host, learned)
        readouts = [p for p in batch if p.extracted is not None]  # not the listing pages
        # cleaned side by side (the workers take them in turn), stored in the order they came
        articles = await asyncio.gather(*(self._article(pending, template) for pending in readouts))
        for pending, article in zip(readouts, articles, strict=True):
            if isinstance(article, Failure):
                self._store(pending.got, host, None, article.reason)
            else:
                self._store(pending.got, host, article, None if article else "empty after cleaning")

    async def _article(self, pending: _Pending, template: frozenset[str]) -> ArticleText | Failure | None:
        """Return the page's article cut of the template: a worker's cut when it cut the same lines, else cut here."""
        if pending.cut is not None:
            kept = pending.cut.used == template & pending.keys
            self.cuts["kept" if kept else "recut"] += 1
            if kept:
                return pending.cut.article
        assert pending.extracted is not None
        return await self.pool.article(pending.extracted, template, timeout=self.extract_timeout)

    async def _reclean(self, host: str, learned: frozenset[str]) -> None:
        """Clean the archived pages of a host that start or end with newly learned template lines, from their captures.

        A re-cleaning is not an edit by the publisher: the archive moves the page to its clean text without an event.
        """
        stale = boilerplate.stale_pages(self.archive.host_texts(host), learned)
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

    def _store(self, got: _Got, host: str, article: ArticleText | None, error: str | None) -> None:
        """Write one page to the archive and count the outcome."""
        record = replace(self._page(got, host, error), article=article)
        outcome, page_created = self.archive.record(record)
        self.tally.new_pages += page_created
        self.tally.count(Outcome(outcome))


def _summary(item: FetchedPage) -> FetchedPage:
    """Return the item without its bodies, so logs and feeds stay small."""
    return replace(item, body=b"", wire_body=None)
