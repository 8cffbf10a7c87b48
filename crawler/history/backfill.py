"""`readouts backfill`: a source's article pages as a web archive captured them, found in its CDX index.

Plain CDX API over the standard library rather than cdx_toolkit: the requests must go one at a time at a set pace
with 429 and Retry-After honoured, which cdx_toolkit's own retry loop does not let a caller control (a fixed interval
per host, 429s retried on its own doubling wait, Retry-After never read); it also refuses a Common Crawl index that
lists fewer than 60 crawls and caches that list in the user's home. What cdx_toolkit does is done the same way here:
Common Crawl's crawls from its `collinfo.json` (each crawl its own CDX API), a paged index read page by page
(`showNumPages`, then `page=`; an index that does not page answer by answer, by `showResumeKey` and `resumeKey`), and
a Common Crawl capture read as one WARC record with an HTTP Range request to the data host. The mementos fetched
(original bytes: the Wayback `id_` form, or the WARC record's payload) are written to a staging WARC file beside the
archive and archived by `readouts import`'s pipeline, with the web archive and the memento as provenance; a memento
archived once is never fetched again, and a query an interrupted run left half read resumes at its next page or
resume key.
"""

from __future__ import annotations

import email.utils
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.config.sources import Source
from crawler.config.urls import canonical_url
from crawler.history.warc_import import MEMENTO_HEADER, ORIGIN_HEADER, Importer, is_html, matcher
from storage.archive import Archive
from storage.warc import decode_content, store_for

IA = ("ia", "https://web.archive.org/cdx/search/cdx", "https://web.archive.org/web")
CC_INDEX = "https://index.commoncrawl.org"  # collinfo.json there lists the crawls, each with its own CDX API
CC_DATA = "https://data.commoncrawl.org"  # the WARC files a Common Crawl CDX line's `filename` is relative to
MAX_RETRY_AFTER_S = 300.0  # a longer wait ends the backfill (run it again later): it resumes where it stopped
RETRIES = 4
RESUME_LIMIT = 1000  # CDX lines asked an answer when an index is read by resume key (a kill loses one answer's work)
USER_AGENT = "readouts-backfill (+https://github.com/readouts)"


class BackfillError(Exception):
    """A backfill that cannot start or go on (bad archive, archive unreachable, asked to wait too long)."""


@dataclass(frozen=True)
class WebArchive:
    """A web archive: its name in provenance, its CDX endpoint and the base of its replay URLs.

    For Common Crawl (`common_crawl`), `cdx` is the index server (its crawls listed in collinfo.json) and `replay`
    the data host the WARC files are read from.
    """

    name: str
    cdx: str
    replay: str
    common_crawl: bool = False


@dataclass(frozen=True)
class Capture:
    """One CDX line: when, which URL, the payload digest, media type and status (and, in Common Crawl, where the
    WARC record is)."""

    timestamp: str  # 14 digits, UTC
    original: str
    digest: str
    mimetype: str
    status: str
    filename: str = ""  # Common Crawl: the WARC file, relative to the data host…
    offset: int = 0  # …and the record's bytes in it
    length: int = 0


@dataclass(frozen=True)
class CdxPage:
    """One answer of a CDX query: its captures, which answer it is, and where the query goes on after it."""

    number: int  # from 0
    captures: list[Capture]
    pages: int = 0  # a paged index: its page count (0: not paged)
    resume_key: str | None = None  # an index read by resume key: the key of the next answer (None: the last)

    def where(self) -> str:
        """Say which answer this is, for progress."""
        if self.pages:
            return f" (CDX page {self.number + 1}/{self.pages})"
        return f" (CDX answer {self.number + 1})" if self.number or self.resume_key else ""


@dataclass
class BackfillTally:
    """What a backfill did; its fields are the JSON output's."""

    queries: int = 0  # CDX queries (a paged query counts once)
    captures: int = 0  # distinct (URL, digest) article captures in range
    already: int = 0  # archived by an earlier run
    fetched: int = 0
    waited: float = 0.0  # seconds waited on 429 / Retry-After
    new_pages: int = 0
    new_documents: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    cdx_pages: int = 0  # pages of CDX answers read
    resumed: int = 0  # paged queries taken up at the page an interrupted run stopped at
    recleaned: int = 0  # pages archived before cleaned of a template line learned from the captures


def _http_url(value: str, what: str) -> str:
    """Return an http(s) URL without its trailing slash, or refuse it naming the option."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackfillError(f"{what} {value!r} is not an http(s) URL")
    return value.rstrip("/")


def web_archive(spec: str, cc_index: str = CC_INDEX, cc_data: str = CC_DATA) -> WebArchive:
    """Return the web archive `--archive` names: `ia`, `cc` (at these hosts), or a pywb/Wayback collection's URL."""
    if spec == "ia":
        return WebArchive(*IA)
    if spec == "cc":
        return WebArchive("cc", _http_url(cc_index, "--cc-index"), _http_url(cc_data, "--cc-data"), True)
    parts = urlsplit(spec)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackfillError(f"--archive {spec!r} is not ia, cc or the URL of a Wayback/pywb collection")
    base = spec.rstrip("/")
    return WebArchive(base, base + "/cdx", base)


def prefixes(source: Source) -> list[str]:
    """Return the URL prefixes to look up: each start URL's folder, and each article pattern's literal path."""
    hosts = {urlsplit(u).netloc for u in (*source.start_urls, *source.feeds, *source.sitemaps)}
    found = {u.rsplit("/", 1)[0] + "/" for u in source.start_urls}
    for pattern in source.articles:
        literal = re.split(r"[\\\[\](){}.*+?^$|]", pattern.lstrip("^"), maxsplit=1)[0]
        if literal.startswith("/") and "/" in literal[1:]:
            folder = literal.rsplit("/", 1)[0] + "/"
            found |= {f"{urlsplit(u).scheme}://{h}{folder}" for u in source.start_urls for h in hosts}
    # the shortest prefixes cover the longer ones
    return sorted(p for p in found if not any(q != p and p.startswith(q) for q in found))


def crawl_indexes(collinfo: list[Mapping[str, Any]], base: str, start: str | None, end: str | None) -> list[str]:
    """Return the CDX APIs of Common Crawl's crawls (collinfo.json) that may hold captures between the days given,
    oldest crawl first; a crawl that does not say when it ran is always asked."""
    kept: list[tuple[str, str]] = []
    for crawl in collinfo:
        api = crawl.get("cdx-api")
        if not isinstance(api, str) or not api:
            continue
        first, last = str(crawl.get("from") or "")[:10], str(crawl.get("to") or "")[:10]
        if (start and last and last < start) or (end and first and first > end):
            continue
        kept.append((str(crawl.get("id") or api), urljoin(base + "/", api)))  # CC-MAIN-YYYY-WW: by time
    return [api for _, api in sorted(kept)]


def cdx_query(endpoint: str, prefix: str, start: str | None, end: str | None) -> str:
    """Return the CDX query URL (without a page) for the captures of a URL prefix between the days given."""
    params = {"url": prefix, "matchType": "prefix", "output": "json"}
    if start:
        params["from"] = start.replace("-", "")
    if end:
        params["to"] = end.replace("-", "") + "235959"
    return f"{endpoint}?{urlencode(params)}"


def page_count(text: str) -> int | None:
    """Return the number of pages a `showNumPages` answer gives: a number (the Wayback Machine) or {"pages": N}
    (pywb, Common Crawl); None when the server sent captures instead (an index it does not page)."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int):
        return max(answer, 0)
    if isinstance(answer, dict) and isinstance(answer.get("pages"), int) and "url" not in answer:
        return max(int(answer["pages"]), 0)
    return None


def split_resume_key(text: str) -> tuple[str, str | None]:
    """Return a CDX answer without the resume key `showResumeKey` appends to a JSON answer cut by its limit (an empty
    row, then the key alone), and that key (None when the query is read to its end)."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return text, None
    rows = json.loads(stripped)
    if len(rows) >= 2 and rows[-2] == [] and isinstance(rows[-1], list) and len(rows[-1]) == 1 and rows[-1][0]:
        return json.dumps(rows[:-2]), str(rows[-1][0])
    return text, None


def resume_key_query(query: str, key: str | None, limit: int) -> str:
    """Return a CDX query's URL asking for `limit` lines and a resume key, from `key` (as the server printed it:
    already escaped, so only what a URL cannot carry is escaped again)."""
    url = f"{query}&showResumeKey=true&limit={limit}"
    return url + f"&resumeKey={quote(key, safe='%+/')}" if key else url


def resume_at(cursor: int, pages: int) -> int:
    """Return the page to start a paged query at: where a run stopped, or the first when the index has shrunk since
    (else a cursor past the last page would never be read to its end, nor dropped)."""
    return cursor if 0 <= cursor < pages else 0


def _int(value: Any) -> int:
    """Return a CDX field as a number (0 when absent or not one)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_cdx(text: str) -> list[Capture]:
    """Parse a CDX answer: a JSON array with a header row (the Wayback Machine) or JSON lines (pywb, Common Crawl)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        rows = json.loads(text)
        if not rows:
            return []
        names = rows[0]
        records = [dict(zip(names, row, strict=False)) for row in rows[1:]]
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [
        Capture(
            r.get("timestamp", ""),
            r.get("original") or r.get("url", ""),
            r.get("digest", ""),
            r.get("mimetype") or r.get("mime", ""),
            str(r.get("statuscode") or r.get("status") or ""),
            str(r.get("filename") or ""),
            _int(r.get("offset")),
            _int(r.get("length")),
        )
        for r in records
    ]


def choose(captures: list[Capture], source: Source, start: str | None, end: str | None) -> list[Capture]:
    """Keep the source's article pages answered 200 with HTML in the date range, one capture per URL and digest."""
    kept: dict[tuple[str, str], Capture] = {}
    for c in sorted(captures, key=lambda c: c.timestamp):
        day = f"{c.timestamp[:4]}-{c.timestamp[4:6]}-{c.timestamp[6:8]}"
        if c.status != "200" or not is_html(c.mimetype) or not source.is_article(c.original):
            continue
        if (start and day < start) or (end and day > end):
            continue
        kept.setdefault((canonical_url(c.original), c.digest), c)
    return list(kept.values())


def capture_time(timestamp: str) -> str:
    """Return a 14-digit CDX timestamp as the archive stores times."""
    return datetime.strptime(timestamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after(value: str | None, default: float) -> float:
    """Return the seconds a Retry-After header asks for (seconds or an HTTP date); `default` when absent or bad."""
    if not value:
        return default
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def warc_response(data: bytes, url: str) -> tuple[list[tuple[str, str]], bytes]:
    """Return the HTTP headers and body (transfer and content encodings undone) of the one WARC response record
    `data` holds, which must be a capture of `url`."""
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(data))))
        target = record.rec_headers.get_header("WARC-Target-URI") or ""
        if record.rec_type != "response" or record.http_headers is None:
            raise ValueError(f"a {record.rec_type} record, not a response")
        if canonical_url(target) != canonical_url(url):
            raise ValueError(f"a record of {target}, not of {url}")
        return list(record.http_headers.headers), record.content_stream().read()
    except (StopIteration, ArchiveLoadFailed, OSError, EOFError) as exc:
        raise ValueError(f"not a WARC record: {exc}") from None


class Polite:
    """GET one URL at a time from a web archive, at most one request every `delay` seconds, honouring 429s."""

    def __init__(self, delay: float, tally: BackfillTally, sleep: Callable[[float], None] = time.sleep) -> None:
        """Pace requests `delay` seconds apart; count waits in `tally`."""
        self.delay, self.tally, self.sleep = delay, tally, sleep
        self.last = 0.0

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> tuple[int, list[tuple[str, str]], bytes]:
        """Return (status, headers, body) of a GET, after waiting out 429/503 answers as they ask."""
        for attempt in range(RETRIES + 1):
            pause = self.last + self.delay - time.monotonic()
            if pause > 0:
                self.sleep(pause)
            self.last = time.monotonic()
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return answer.status, list(answer.headers.items()), answer.read()
            except urllib.error.HTTPError as exc:
                if exc.code not in (429, 503) or attempt == RETRIES:
                    return exc.code, list(exc.headers.items()), exc.read()
                wait = retry_after(exc.headers.get("Retry-After"), max(self.delay, 1.0) * 2**attempt)
                if wait > MAX_RETRY_AFTER_S:
                    raise BackfillError(
                        f"{url}: the archive asks to wait {wait:.0f}s; run backfill again later"
                    ) from None
                self.tally.waited += wait
                self.sleep(wait)
            except (urllib.error.URLError, OSError) as exc:
                raise BackfillError(f"cannot reach the archive at {url}: {exc}") from None
        raise AssertionError("unreachable")


class Backfill:
    """Find a source's captures in a web archive, fetch those the archive lacks, and archive them."""

    def __init__(
        self, db: str, sources: dict[str, Source], archive: WebArchive, delay: float = 1.0, jobs: int | None = None
    ) -> None:
        """Backfill the archive file `db` from `archive`, pacing requests `delay` seconds apart."""
        self.db, self.sources, self.web, self.jobs = db, sources, archive, jobs
        self.tally = BackfillTally()
        self.http = Polite(delay, self.tally)
        self.staging = Path(db).with_name(Path(db).name + ".backfill")
        self.seen: set[tuple[str, str]] = set()  # (URL, digest) of the captures met this run
        self.resume_limit = RESUME_LIMIT

    def run(
        self,
        names: list[str],
        start: str | None = None,
        end: str | None = None,
        max_pages: int | None = None,
        progress: Callable[[str], None] = lambda _: None,
    ) -> BackfillTally:
        """Archive the captures of these sources not archived yet (what an interrupted run fetched, first)."""
        self._archive(names)  # a run killed after fetching left its mementos staged
        self.staging.mkdir(exist_ok=True)
        path = self.staging / f"backfill-{os.getpid()}-{time.time_ns()}.warc.gz"
        with Archive(self.db) as archive, open(path, "ab") as out:
            done, left = archive.imported(), max_pages
            for query, source in self._queries(names, start, end):
                left = self._read(archive, out, query, source, (start, end), done, left, progress)
                if left == 0:
                    break
        self._archive(names)
        return self.tally

    def _queries(self, names: list[str], start: str | None, end: str | None) -> Iterator[tuple[str, Source]]:
        """Yield each CDX query to make (one per crawl of Common Crawl, source and URL prefix) and its source."""
        if self.web.common_crawl:
            status, _, body = self.http.get(f"{self.web.cdx}/collinfo.json")
            if status != 200:
                raise BackfillError(f"Common Crawl's list of crawls ({self.web.cdx}/collinfo.json) answered {status}")
            try:
                collinfo = json.loads(body)
            except ValueError:
                collinfo = None
            if not isinstance(collinfo, list):
                raise BackfillError(f"{self.web.cdx}/collinfo.json is not a list of crawls")
            endpoints = crawl_indexes(collinfo, self.web.cdx, start, end)
        else:
            endpoints = [self.web.cdx]
        for endpoint in endpoints:
            for name in names:
                for prefix in prefixes(self.sources[name]):
                    yield cdx_query(endpoint, prefix, start, end), self.sources[name]

    def _read(
        self,
        archive: Archive,
        out: io.BufferedWriter,
        query: str,
        source: Source,
        days: tuple[str | None, str | None],
        done: set[str],
        left: int | None,
        progress: Callable[[str], None],
    ) -> int | None:
        """Read a query's pages (from where an interrupted run stopped), fetching the captures not archived yet;
        return how many captures this run may still fetch (None: no bound)."""
        self.tally.queries += 1
        for page in self._pages(archive, query):
            fresh = []
            for capture in choose(page.captures, source, *days):
                key = (canonical_url(capture.original), capture.digest)
                if key in self.seen:  # one capture per URL and digest in a run, across pages and crawls
                    continue
                self.seen.add(key)
                self.tally.captures += 1
                if self._memento(capture) in done:
                    self.tally.already += 1
                else:
                    fresh.append(capture)
            for n, capture in enumerate(fresh[:left] if left is not None else fresh, 1):
                done.add(self._fetch(out, capture))
                progress(
                    f"fetched {self.tally.fetched}: {capture.original} as of {capture_time(capture.timestamp)}"
                    f"{page.where()}, {n}/{len(fresh)}"
                )
            if left is not None:
                if len(fresh) > left:
                    return 0  # the page is not read to its end: the next run takes it up again
                left -= len(fresh)
            # its mementos are staged: the answer is read
            if page.pages:
                archive.set_cdx_cursor(query, page.number + 1, page.pages)
            elif page.number or page.resume_key:
                archive.set_cdx_resume_key(query, page.number + 1, page.resume_key)
            if left == 0:
                break
        return left

    def _pages(self, archive: Archive, query: str) -> Iterator[CdxPage]:
        """Yield the answers of a CDX query from where an earlier run stopped: page by page when the index is paged,
        else answer by answer following resume keys."""
        status, _, body = self.http.get(query + "&showNumPages=true")
        pages = page_count(body.decode("utf-8", "replace")) if status == 200 else None
        if pages is None:
            yield from self._resumed(archive, query)
            return
        first = resume_at(archive.cdx_cursor(query), pages)
        self.tally.resumed += first > 0
        for page in range(first, pages):
            yield CdxPage(page, self._captures(f"{query}&page={page}"), pages)

    def _resumed(self, archive: Archive, query: str) -> Iterator[CdxPage]:
        """Yield the answers of a query to an index that does not page, each ending with the key of the next one
        (`showResumeKey`), from the key an interrupted run stopped at."""
        key, number = archive.cdx_resume_key(query) or (None, 0)
        self.tally.resumed += key is not None
        while True:
            text = self._answer(resume_key_query(query, key, self.resume_limit))
            rest, key = split_resume_key(text)
            captures = self._parse(query, rest)
            if number == 0 and key is None and len(captures) >= self.resume_limit:
                # the index honours `limit` but not `showResumeKey`: the answer is cut, ask for it whole
                captures = self._captures(query)
            yield CdxPage(number, captures, resume_key=key)
            if key is None:
                return
            number += 1

    def _captures(self, url: str) -> list[Capture]:
        """Return the captures a CDX query answers (a Common Crawl index answers 404 when it has none)."""
        return self._parse(url, self._answer(url))

    def _answer(self, url: str) -> str:
        """Return the text of a CDX answer (empty when a Common Crawl index has no capture: it answers 404)."""
        status, _, body = self.http.get(url)
        if status == 404 and self.web.common_crawl:
            return ""
        if status != 200:
            raise BackfillError(f"the CDX query {url} answered HTTP {status}")
        self.tally.cdx_pages += 1
        return body.decode("utf-8", "replace")

    def _parse(self, url: str, text: str) -> list[Capture]:
        """Return the captures of a CDX answer, or refuse one that is not CDX JSON."""
        try:
            return parse_cdx(text)
        except (ValueError, AttributeError) as exc:
            raise BackfillError(f"the CDX query {url} did not answer CDX JSON: {exc}") from None

    def _memento(self, capture: Capture) -> str:
        """Return where a capture's original bytes are: the `id_` replay URL, or the Common Crawl WARC record's
        file and byte range."""
        if self.web.common_crawl:
            last = capture.offset + capture.length - 1
            return f"{self.web.replay}/{capture.filename}#bytes={capture.offset}-{last}"
        return f"{self.web.replay}/{capture.timestamp}id_/{capture.original}"

    def _download(self, capture: Capture) -> tuple[list[tuple[str, str]], bytes] | str:
        """Return the headers and body of a capture as first received, or why they could not be had."""
        memento = self._memento(capture)
        if not self.web.common_crawl:
            status, headers, body = self.http.get(memento)
            if status != 200:
                return f"HTTP {status}"
            return headers, decode_content(body, [v for k, v in headers if k.lower() == "content-encoding"])
        if not capture.filename or capture.length <= 0:
            return "the CDX line gives no WARC file and length"
        byte_range = f"bytes={capture.offset}-{capture.offset + capture.length - 1}"
        status, _, data = self.http.get(memento.split("#")[0], {"Range": byte_range})
        if status != 206:
            return f"HTTP {status} to a Range request (206 expected)"
        try:
            return warc_response(data, capture.original)
        except ValueError as exc:
            return str(exc)

    def _fetch(self, out: io.BufferedWriter, capture: Capture) -> str:
        """Fetch one memento and append it to the staging WARC file (synced: a kill loses at most this one);
        return the memento."""
        memento = self._memento(capture)
        got = self._download(capture)
        if isinstance(got, str):
            self.tally.errors.append(f"{memento}: {got}")
            return memento
        headers, body = got
        self.tally.fetched += 1
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "transfer-encoding")]
        kept = [(k, v) for k, v in kept if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
        writer = WARCWriter(out, gzip=True)
        record = writer.create_warc_record(
            capture.original,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders("200 OK", kept, protocol="HTTP/1.1"),
            warc_headers_dict={
                "WARC-Date": capture_time(capture.timestamp),
                ORIGIN_HEADER: self.web.name,
                MEMENTO_HEADER: memento,
            },
        )
        writer.write_record(record)
        out.flush()
        os.fsync(out.fileno())
        return memento

    def _archive(self, names: list[str]) -> None:
        """Archive the staged mementos through the import pipeline, then drop the staging files."""
        files = sorted(self.staging.glob("*.warc.gz")) if self.staging.is_dir() else []
        if not files:
            return
        archive, store = Archive(self.db), store_for(self.db)
        try:
            wanted = [self.sources[n] for n in names]
            result = Importer(archive, store, self.sources, self.jobs).run(
                [str(f) for f in files], matcher(wanted, None)
            )
        finally:
            store.close()
            archive.close()
        for name in ("new_pages", "new_documents", "changed", "unchanged", "duplicates", "failed", "recleaned"):
            setattr(self.tally, name, getattr(self.tally, name) + getattr(result, name))
        self.tally.errors += result.errors
        for f in files:
            f.unlink()
