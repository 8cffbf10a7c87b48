"""`readouts backfill`: a source's article pages as a web archive captured them, found in its CDX index.

Plain CDX API over the standard library rather than cdx_toolkit: the requests must go one at a time at a set pace
with 429 and Retry-After honoured, which cdx_toolkit's own retry loop does not let a caller control, and the
Wayback/pywb CDX API is two query parameters and one answer format. The mementos fetched (original bytes, the `id_`
form) are written to a staging WARC file beside the archive and archived by `readouts import`'s pipeline, with the
web archive and the memento URL as provenance; a memento archived once is never fetched again.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.config.sources import Source
from crawler.history.warc_import import MEMENTO_HEADER, ORIGIN_HEADER, Importer, is_html, matcher
from spiders.source_spider import canonical_url
from storage.archive import Archive
from storage.warc import decode_content, store_for

IA = ("ia", "https://web.archive.org/cdx/search/cdx", "https://web.archive.org/web")
MAX_RETRY_AFTER_S = 300.0  # a longer wait ends the backfill (run it again later): it resumes where it stopped
RETRIES = 4
USER_AGENT = "readouts-backfill (+https://github.com/readouts)"


class BackfillError(Exception):
    """A backfill that cannot start or go on (bad archive, archive unreachable, asked to wait too long)."""


@dataclass(frozen=True)
class WebArchive:
    """A web archive: its name in provenance, its CDX endpoint and the base of its replay URLs."""

    name: str
    cdx: str
    replay: str


@dataclass(frozen=True)
class Capture:
    """One CDX line: when, which URL, the payload digest, media type and status."""

    timestamp: str  # 14 digits, UTC
    original: str
    digest: str
    mimetype: str
    status: str


@dataclass
class BackfillTally:
    """What a backfill did; its fields are the JSON output's."""

    queries: int = 0
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


def web_archive(spec: str) -> WebArchive:
    """Return the web archive `--archive` names: `ia`, or a pywb/Wayback collection's base URL."""
    if spec == "ia":
        return WebArchive(*IA)
    if spec == "cc":
        raise BackfillError("Common Crawl (--archive cc) is not supported yet: its captures are WARC ranges")
    parts = urlsplit(spec)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackfillError(f"--archive {spec!r} is not ia or the URL of a Wayback/pywb collection")
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


def parse_cdx(text: str) -> list[Capture]:
    """Parse a CDX answer: a JSON array with a header row (the Wayback Machine) or JSON lines (pywb)."""
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


class Polite:
    """GET one URL at a time from a web archive, at most one request every `delay` seconds, honouring 429s."""

    def __init__(self, delay: float, tally: BackfillTally, sleep: Callable[[float], None] = time.sleep) -> None:
        """Pace requests `delay` seconds apart; count waits in `tally`."""
        self.delay, self.tally, self.sleep = delay, tally, sleep
        self.last = 0.0

    def get(self, url: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Return (status, headers, body) of a GET, after waiting out 429/503 answers as they ask."""
        for attempt in range(RETRIES + 1):
            pause = self.last + self.delay - time.monotonic()
            if pause > 0:
                self.sleep(pause)
            self.last = time.monotonic()
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
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
        archive = Archive(self.db)
        try:
            done = archive.imported()
        finally:
            archive.close()
        todo: list[tuple[str, Capture]] = []
        for name in names:
            for prefix in prefixes(self.sources[name]):
                self.tally.queries += 1
                query = urlencode({"url": prefix, "matchType": "prefix", "output": "json"})
                status, _, body = self.http.get(f"{self.web.cdx}?{query}")
                if status != 200:
                    raise BackfillError(f"the CDX query for {prefix} answered HTTP {status}")
                for capture in choose(parse_cdx(body.decode("utf-8")), self.sources[name], start, end):
                    self.tally.captures += 1
                    if self._memento(capture) in done:
                        self.tally.already += 1
                    else:
                        todo.append((name, capture))
        todo = todo[:max_pages] if max_pages else todo
        self.staging.mkdir(exist_ok=True)
        path = self.staging / f"backfill-{os.getpid()}-{time.time_ns()}.warc.gz"
        with open(path, "ab") as out:
            for n, (_name, capture) in enumerate(todo, 1):
                self._fetch(out, capture)
                progress(f"fetched {n}/{len(todo)}: {capture.original} as of {capture_time(capture.timestamp)}")
        self._archive(names)
        return self.tally

    def _memento(self, capture: Capture) -> str:
        """Return the URL of a capture's original bytes (the `id_` form)."""
        return f"{self.web.replay}/{capture.timestamp}id_/{capture.original}"

    def _fetch(self, out: io.BufferedWriter, capture: Capture) -> None:
        """Fetch one memento and append it to the staging WARC file (synced: a kill loses at most this one)."""
        memento = self._memento(capture)
        status, headers, body = self.http.get(memento)
        if status != 200:
            self.tally.errors.append(f"{memento}: HTTP {status}")
            return
        self.tally.fetched += 1
        body = decode_content(body, [v for k, v in headers if k.lower() == "content-encoding"])
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
        for name in ("new_pages", "new_documents", "changed", "unchanged", "duplicates", "failed"):
            setattr(self.tally, name, getattr(self.tally, name) + getattr(result, name))
        self.tally.errors += result.errors
        for f in files:
            f.unlink()
