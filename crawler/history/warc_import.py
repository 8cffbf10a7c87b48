"""`readouts import`: the HTTP responses of WARC files other crawlers wrote, archived as a crawl archives a page.

The files are read once for their index (which records are article pages, revisits resolved to their originals),
while worker processes already extract the first responses it finds; workers read each record back and extract
it, and others clean it; the main process learns the sites' templates and writes the archive, by capture time, while
the workers extract the next batches (two are kept queued, so the extracting workers never wait for this process,
and a batch's cleaning never waits behind them).
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.config.sources import Source
from crawler.config.urls import canonical_url
from crawler.extraction import boilerplate
from crawler.extraction.article import article_text
from crawler.extraction.extract import Extracted, Failure, extract
from crawler.extraction.soft404 import looks_missing
from crawler.history.verbatim import ELSEWHERE, Recorded, Verbatim, verbatim
from storage.archive import CHANGED, DUPLICATE, FAILED, NEW_DOCUMENT, UNCHANGED, Archive, ArticleText, PageRecord
from storage.changes import latest_captures
from storage.recheck import DEFAULT_RECHECK_EVERY
from storage.warc import CaptureRef, Original, WarcStore, payload_digest

ORIGIN = "warc-file"
# WARC headers `readouts backfill` writes on the records it fetched: the web archive, and the memento read from it
ORIGIN_HEADER, MEMENTO_HEADER = "Readouts-Origin", "Readouts-Memento"
BATCH = 200  # records extracted together (the store of one overlaps the next one's extraction); a site's template
# is learned from each batch before it is stored
SYNC_EVERY = 50  # captures put on disk with one fsync: a batch is stored in steps, each as soon as its pages are
# cleaned, so storing overlaps the cleaning of the rest (the last batch's too, when nothing else is left to extract)
LOOKAHEAD = 2  # batches queued for extraction: the workers go on extracting the next one while this process learns
# a batch's template, and the one after while it stores the batch (cleaned meanwhile by workers of their own)
_HTML = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Entry:
    """One response to import: where its payload's record is, and the URL and time it was captured at."""

    url: str
    source: str
    captured_at: str  # ISO 8601 UTC, second precision
    path: str  # the WARC file holding the payload (the original's, for a revisit)
    offset: int
    record: str  # provenance: the file and WARC-Record-ID of the record read (the revisit itself), or the memento
    origin: str = ORIGIN  # a WARC file, or the web archive a memento came from
    length: int = 0  # the payload's record's bytes in its file (one gzip member in a .warc.gz)

    def job(self) -> tuple[str, int, str, int, str]:
        """Return what a worker reads and extracts this response by (see `read_and_extract`)."""
        return (self.path, self.offset, self.url, self.length, self.captured_at)


@dataclass
class ImportTally:
    """What an import did; its fields are the JSON output's."""

    files: int = 0
    records: int = 0  # response and revisit records read
    matched: int = 0  # of them, article pages of a source
    already: int = 0  # imported before (skipped)
    unresolved: int = 0  # revisits whose original is not in the files given
    new_pages: int = 0
    new_documents: int = 0
    duplicates: int = 0
    changed: int = 0  # a different text from a capture: a revision (in retrospect when older than a later one)
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # pages without text (the first 50)
    recleaned: int = 0  # pages archived before (by this import or earlier) cleaned of a template learned since
    unreadable: list[str] = field(default_factory=list)  # files that are not WARC files, or end mid-record


def warc_date(value: str) -> str:
    """Return a WARC-Date as the archive stores times: ISO 8601 UTC to the second."""
    return value[:19] + "Z"


def is_html(content_type: str | None) -> bool:
    """Return True when a Content-Type is an HTML page."""
    return (content_type or "").split(";")[0].strip().lower() in _HTML


def matcher(sources: Iterable[Source], everything: Source | None) -> Callable[[str, str | None], str | None]:
    """Return a function naming the source a response belongs to: every HTML page to `everything` when given, else
    the first source whose article patterns the URL matches."""
    ordered = list(sources)

    def match(url: str, content_type: str | None) -> str | None:
        if not is_html(content_type) and content_type is not None:
            return None
        if everything is not None:
            return everything.name if is_html(content_type) else None
        return next((s.name for s in ordered if s.is_article(url)), None)

    return match


def index(
    paths: list[str],
    match: Callable[[str, str | None], str | None],
    tally: ImportTally,
    done: set[str],
    on_response: Callable[[Entry], None] = lambda entry: None,
) -> list[Entry]:
    """Read the WARC files' records and return the article responses to import, oldest capture first; `on_response`
    is told of each response as it is read (revisits are resolved only at the end)."""
    originals: dict[str, tuple[str, int, int]] = {}  # payload digest -> (file, offset, length) of a 200 response
    revisits: list[tuple[str, str, str, str, str, str]] = []  # (url, source, date, digest, record, origin)
    entries: list[Entry] = []
    for path in paths:
        tally.files += 1
        for kind, url, date, digest, record, (offset, length), status, ctype, origin in _records(path, tally):
            tally.records += 1
            if status != 200:
                continue
            if kind == "response" and digest:
                originals.setdefault(digest, (path, offset, length))
            source = match(url, ctype)
            if source is None:
                continue
            tally.matched += 1
            key = record if origin != ORIGIN else f"{path}#{record}"
            if key in done:
                tally.already += 1
            elif kind == "response":
                entries.append(Entry(url, source, date, path, offset, key, origin, length))
                on_response(entries[-1])
            else:
                revisits.append((url, source, date, digest, key, origin))
    for url, source, date, digest, key, origin in revisits:
        found = originals.get(digest)
        if found is None:
            tally.unresolved += 1
        else:
            entries.append(Entry(url, source, date, found[0], found[1], key, origin, found[2]))
    entries.sort(key=lambda e: (e.captured_at, e.url))
    return entries


def _records(
    path: str, tally: ImportTally
) -> Iterator[tuple[str, str, str, str, str, tuple[int, int], int, str | None, str]]:
    """Yield (kind, url, date, payload digest, record id or memento, (offset, length), status, content type, origin)
    of each HTTP answer."""
    try:
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream)
            for rec in records:
                if not rec.format.startswith("warc"):  # warcio reads any text as ARC: ARC files are not read
                    raise ArchiveLoadFailed("not a WARC file")
                if rec.rec_type not in ("response", "revisit") or rec.http_headers is None:
                    continue
                if rec.http_headers.protocol.startswith(("GET", "POST")):
                    continue
                head = rec.rec_headers
                url = canonical_url(head.get_header("WARC-Target-URI") or "")
                try:
                    status = int(rec.http_headers.get_statuscode() or 0)
                except ValueError:
                    status = 0
                if rec.rec_type == "revisit" and status in (0, 304):
                    status = 200  # a revisit of an unchanged 200 answer carries the headers of a 304 or none
                yield (
                    rec.rec_type,
                    url,
                    warc_date(head.get_header("WARC-Date") or ""),
                    head.get_header("WARC-Payload-Digest") or "",
                    head.get_header(MEMENTO_HEADER) or head.get_header("WARC-Record-ID") or "",
                    (records.get_record_offset(), records.get_record_length()),
                    status,
                    rec.http_headers.get_header("Content-Type"),
                    head.get_header(ORIGIN_HEADER) or ORIGIN,
                )
    except (OSError, ArchiveLoadFailed) as exc:
        tally.unreadable.append(f"{path}: {exc}")


@dataclass(frozen=True)
class Read:
    """A record read back in a worker: its headers and body, and the extraction (or why there is none)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    extracted: Extracted | Failure
    keys: frozenset[str] = frozenset()  # the page's line keys, its template is learned from
    verbatim: Verbatim | None = None  # the record as its file holds it, when the archive's WARC store may copy it


def read_and_extract(job: tuple[str, int, str, int, str]) -> Read:
    """Read one response record at (file, offset, url, length, capture time) and extract its page (runs in a
    worker process); a length of 0 reads the record from the file as a stream, and keeps none of its bytes."""
    path, offset, url, length, captured_at = job
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            member = stream.read(length) if length else b""
            rec = next(iter(ArchiveIterator(io.BytesIO(member) if length else stream)))
            headers = list(rec.http_headers.headers)
            body = rec.content_stream().read()  # chunked framing and Content-Encoding undone
    except (OSError, ArchiveLoadFailed, StopIteration, ValueError, EOFError) as exc:
        return Read(0, [], b"", Failure(f"unreadable record: {exc}"))
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    extracted = extract(body, url, content_type)
    if isinstance(extracted, Extracted) and looks_missing(extracted):
        extracted = Failure("soft 404: the page says it is not there")
    keys = frozenset(boilerplate.page_keys(extracted.lines)) if isinstance(extracted, Extracted) else frozenset()
    head = rec.rec_headers
    recorded = Recorded(
        member,
        rec.rec_type,
        head.get_header("WARC-Target-URI") or "",
        warc_date(head.get_header("WARC-Date") or ""),
        head.get_header("WARC-Payload-Digest") or "",
        head.get_header("WARC-Record-ID") or "",
        headers,
        not any(head.get_header(name) for name in ELSEWHERE),
    )
    # (a record read without its length, or a page without text, is never stored: no need to digest its body)
    copy = verbatim(recorded, url, captured_at, body) if length and isinstance(extracted, Extracted) else None
    return Read(200, headers, body, extracted, keys, copy)


def clean(job: tuple[Extracted, frozenset[str]]) -> ArticleText | None:
    """Strip a site's template from an extraction, hash and fingerprint it (runs in a worker process)."""
    return article_text(*job)


class Importer:
    """Archive the responses of WARC files through the crawl's own steps: extract, template, hash, store, capture."""

    def __init__(self, archive: Archive, store: WarcStore, sources: dict[str, Source], jobs: int | None = None) -> None:
        """Write into `archive` and its WARC `store`; `sources` by name give each page's re-check interval."""
        self.archive, self.store, self.sources = archive, store, sources
        self.jobs = jobs or os.cpu_count() or 1
        self.tally = ImportTally()

    def run(self, paths: list[str], match: Callable[[str, str | None], str | None]) -> ImportTally:
        """Import every matching response of the files, oldest capture first."""
        absolute = [str(Path(p).resolve()) for p in paths]
        done = self.archive.imported()
        # cleaning has workers of its own: queued behind the extraction kept ahead, it would hold the storing up
        with ProcessPoolExecutor(self.jobs) as pool, ProcessPoolExecutor(self.jobs) as cleaners:
            early: dict[tuple[str, int, str, int, str], Future[Read]] = {}
            entries = index(absolute, match, self.tally, done, lambda entry: self._prefetch(pool, entry, early))
            batches = [entries[i : i + BATCH] for i in range(0, len(entries), BATCH)]
            ahead = deque(self._submit(pool, b, early) for b in batches[:LOOKAHEAD])
            for n, batch in enumerate(batches):
                reads = [f.result() for f in ahead.popleft()]
                cleaning = self._clean(cleaners, batch, reads)
                if n + LOOKAHEAD < len(batches):
                    ahead.append(self._submit(pool, batches[n + LOOKAHEAD], early))
                self._store_batch(batch, reads, cleaning)
        return self.tally

    def _prefetch(
        self, pool: ProcessPoolExecutor, entry: Entry, early: dict[tuple[str, int, str, int, str], Future[Read]]
    ) -> None:
        """Start extracting a response as the index reads it, the first batches' worth (in file order, usually the
        capture order), so the workers extract while this process is still reading the files."""
        if len(early) < LOOKAHEAD * BATCH:
            early[entry.job()] = pool.submit(read_and_extract, entry.job())

    def _store_batch(
        self, batch: list[Entry], reads: list[Read], cleaning: list[Future[ArticleText | None] | None]
    ) -> None:
        """Store a batch in steps of SYNC_EVERY pages: write each capture as its cleaning ends, put the step's on disk
        at once (one fsync, not one a page), then record them."""
        written: dict[str, Original] = {}
        for start in range(0, len(batch), SYNC_EVERY):
            step = slice(start, start + SYNC_EVERY)
            captures = [
                self._capture(e, r, f.result() if f else None, written)
                for e, r, f in zip(batch[step], reads[step], cleaning[step], strict=True)
            ]
            self.store.sync()
            for entry, read, captured in zip(batch[step], reads[step], captures, strict=True):
                self._store(entry, read, *captured)

    def _submit(
        self, pool: ProcessPoolExecutor, batch: list[Entry], early: dict[tuple[str, int, str, int, str], Future[Read]]
    ) -> list[Future[Read]]:
        """Start reading and extracting a batch in the workers (its responses started `early` are not read again)."""
        keys = [e.job() for e in batch]
        return [early.pop(k) if k in early else pool.submit(read_and_extract, k) for k in keys]

    def _clean(
        self, pool: ProcessPoolExecutor, batch: list[Entry], reads: list[Read]
    ) -> list[Future[ArticleText | None] | None]:
        """Learn each site's template from the batch's pages (each URL once), then start cleaning them."""
        by_host: dict[str, dict[str, set[str]]] = {}
        for entry, read in zip(batch, reads, strict=True):
            if isinstance(read.extracted, Extracted):
                host = urlsplit(entry.url).hostname or ""
                by_host.setdefault(host, {})[entry.url] = set(read.keys)
        templates: dict[str, frozenset[str]] = {}
        for host, pages in by_host.items():
            fresh = [keys for url, keys in pages.items() if url not in self._known(host)]
            self.archive.add_site_lines(host, fresh, {})
            wanted = set().union(*pages.values())
            templates[host] = boilerplate.site_template(self.archive.site_line_counts(host, wanted))
            learned = templates[host] - self.archive.applied_template(host, templates[host])
            if learned:  # before the batch is stored, so an earlier capture's page is compared with its clean text
                self._reclean(pool, host, frozenset(learned))
                self.archive.mark_template_applied(host, learned)
        return [
            pool.submit(clean, (r.extracted, templates[urlsplit(e.url).hostname or ""]))
            if isinstance(r.extracted, Extracted)
            else None
            for e, r in zip(batch, reads, strict=True)
        ]

    def _reclean(self, pool: ProcessPoolExecutor, host: str, learned: frozenset[str]) -> None:
        """Clean the archived pages of a host that start or end with newly learned template lines again, from their
        captures, as a crawl does (not an edit by the publisher: no event)."""
        stale = boilerplate.stale_pages(self.archive.host_texts(host), learned)
        for start in range(0, len(stale), BATCH):
            rows = latest_captures(self.archive.db, page_ids=stale[start : start + BATCH])
            jobs = [
                (str(self.store.directory / Path(r["warc_file"]).name), r["warc_offset"], r["url"], 0, "") for r in rows
            ]
            for row, read in zip(rows, pool.map(read_and_extract, jobs), strict=True):
                if not isinstance(read.extracted, Extracted):
                    continue
                counts = self.archive.site_line_counts(host, set(read.keys))
                article = clean((read.extracted, boilerplate.site_template(counts)))
                if article is not None and self.archive.recleaned(row["page_id"], article):
                    self.tally.recleaned += 1

    def _known(self, host: str) -> set[str]:
        """Return the archived URLs of a host: their lines were counted when they were first stored."""
        return {r[0] for r in self.archive.db.execute("select url from pages where host = ?", [host])}

    def _capture(
        self, entry: Entry, read: Read, article: ArticleText | None, written: dict[str, Original]
    ) -> tuple[ArticleText | None, CaptureRef | None]:
        """Write one response with text to the archive's WARC store, not yet on disk (the batch is synced once), as
        a revisit of an earlier capture of its payload, archived or `written` in this batch (by payload digest)."""
        if not isinstance(read.extracted, Extracted) or article is None:
            return article, None
        digest = payload_digest(read.body)
        archived = self.archive.original_capture(digest)
        original = Original(*archived) if archived else written.get(digest)
        metadata = {"readouts-source": entry.source, "readouts-imported-from": entry.record}
        if original is None and read.verbatim is not None:
            copy = read.verbatim
            ref = self.store.copy(
                copy.member,
                entry.url,
                entry.captured_at,
                copy.record_id,
                read.body,
                digest,
                metadata,
                sync=False,
            )
        else:
            ref = self.store.write(
                entry.url,
                entry.captured_at,
                200,
                read.headers,
                read.body,
                [],
                original,
                metadata,
                sync=False,
                digest=digest,
            )
        written.setdefault(digest, Original(entry.url, entry.captured_at))
        return article, ref

    def _store(self, entry: Entry, read: Read, article: ArticleText | None, ref: CaptureRef | None) -> None:
        """Record one response, captured on disk, with its capture time and provenance."""
        source = self.sources.get(entry.source)
        if not isinstance(read.extracted, Extracted) or article is None or ref is None:
            reason = read.extracted.reason if isinstance(read.extracted, Failure) else "empty after cleaning"
            self.tally.failed += 1
            if len(self.tally.errors) < 50:
                self.tally.errors.append(f"{entry.url}: {reason}")
            self.archive.mark_imported(entry.record, entry.url)
            return
        content_type = next((v for k, v in read.headers if k.lower() == "content-type"), None)
        outcome, created = self.archive.record(
            PageRecord(
                url=entry.url,
                source=entry.source,
                host=urlsplit(entry.url).hostname or "",
                status=200,
                article=article,
                content_type=content_type,
                fetched_at=entry.captured_at,
                capture=ref,
                origin=entry.origin,
                origin_url=entry.record,
                recheck_every=source.recheck_every_seconds if source else DEFAULT_RECHECK_EVERY,
            )
        )
        self.tally.new_pages += created
        self.tally.new_documents += outcome == NEW_DOCUMENT
        self.tally.duplicates += outcome == DUPLICATE
        self.tally.changed += outcome == CHANGED
        self.tally.unchanged += outcome == UNCHANGED
        self.tally.failed += outcome == FAILED
