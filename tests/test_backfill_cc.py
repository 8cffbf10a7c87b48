"""`readouts backfill --archive cc` against a small Common Crawl on loopback: an index server listing two crawls in
collinfo.json, each a paged CDX API answering JSON lines (two lines a page, 404 when a prefix has no capture, as
Common Crawl's zipnum index does), and a data host serving WARC files the test writes, honouring Range requests.

The first run is bounded (--max-pages) and stops inside a paged query; the second takes that query up at its next
page; the third fetches nothing."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.cli.main import main
from storage import changes
from storage.archive import Archive
from storage.warc import payload_digest
from tests.conftest import write_sources
from tests.fixtureweb import sites
from tests.mockserver import Route, SiteServer
from tests.warc_records import write_response

SITE = "http://127.0.0.2:8000"
PAGE_SIZE = 2  # CDX lines a page: every crawl's query is paged
EDITED_FROM = "Both sides also exchanged views on the situations in Ukraine, on the Korean Peninsula, and other issues."
EDITED_TO = "Both sides also exchanged views on the situation on the Korean Peninsula and other issues."


@dataclass
class Crawl:
    """One crawl of the loopback Common Crawl: its name, its WARC file and its CDX lines."""

    name: str
    start: str
    end: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"crawl-data/{self.name}/segments/1/warc/{self.name}-00000.warc.gz"


class CommonCrawl:
    """The index server (collinfo.json and a CDX API per crawl) and the data host, each logging what it was asked."""

    def __init__(self, data_dir: Path, crawls: list[Crawl]) -> None:
        self.data_dir, self.crawls = data_dir, {c.name: c for c in crawls}
        self.ranges = True  # honour Range requests
        index: dict[str, Route] = {"/collinfo.json": self._collinfo}
        index |= {f"/{name}-index": self._cdx for name in self.crawls}
        self.index = SiteServer("127.0.0.6", index).start()
        self.data = SiteServer("127.0.0.7", {"/" + c.filename: self._warc for c in crawls}).start()
        self.index_url, self.data_url = self.index.base, self.data.base

    @property
    def index_log(self) -> list[str]:
        return list(self.index.hits)

    @property
    def data_log(self) -> list[str]:
        return [f"{path} {headers.get('range', '')}" for path, headers in self.data.requests]

    def _collinfo(self, handler: BaseHTTPRequestHandler) -> None:
        info = [
            {"id": c.name, "name": c.name, "cdx-api": f"{self.index_url}/{c.name}-index", "from": c.start, "to": c.end}
            for c in reversed(self.crawls.values())  # Common Crawl lists the newest first
        ]
        _send(handler, 200, {"Content-Type": "application/json"}, json.dumps(info).encode())

    def _cdx(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        crawl, query = self.crawls[parts.path.strip("/").removesuffix("-index")], parse_qs(parts.query)
        prefix = query["url"][0]
        found = [line for line in crawl.lines if line["url"].startswith(prefix)]
        pages = [found[i : i + PAGE_SIZE] for i in range(0, len(found), PAGE_SIZE)] or [[]]
        if query.get("showNumPages") == ["true"]:
            answer = {"pages": len(pages), "pageSize": PAGE_SIZE, "blocks": math.ceil(len(found) / PAGE_SIZE)}
            _send(handler, 200, {"Content-Type": "application/json"}, json.dumps(answer).encode())
            return
        page = int(query.get("page", ["0"])[0])
        if page >= len(pages) or not pages[page]:
            missing = json.dumps({"message": f"No Captures found for: {prefix}"}).encode()
            _send(handler, 404, {"Content-Type": "application/json"}, missing)
            return
        body = "".join(json.dumps(line) + "\n" for line in pages[page]).encode()
        _send(handler, 200, {"Content-Type": "text/x-ndjson"}, body)

    def _warc(self, handler: BaseHTTPRequestHandler) -> None:
        data = (self.data_dir / urlsplit(handler.path).path.lstrip("/")).read_bytes()
        wanted = handler.headers.get("Range", "")
        if not wanted.startswith("bytes=") or not self.ranges:
            _send(handler, 200, {"Content-Type": "application/octet-stream"}, data)
            return
        first, last = (int(n) for n in wanted.removeprefix("bytes=").split("-"))
        part = data[first : last + 1]
        _send(handler, 206, {"Content-Range": f"bytes {first}-{first + len(part) - 1}/{len(data)}"}, part)

    def close(self) -> None:
        self.index.stop()
        self.data.stop()


def _send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Write one whole HTTP answer."""
    handler.send_response(status)
    for name, value in {**headers, "Content-Length": str(len(body))}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _write_crawl(root: Path, crawl: Crawl, captures: list[tuple[str, str, bytes]]) -> None:
    """Write a crawl's WARC file as Common Crawl does (request, response, metadata) and its CDX lines."""
    path = root / crawl.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, when, body in captures:
            date = f"{when[:4]}-{when[4:6]}-{when[6:8]}T{when[8:10]}:{when[10:12]}:{when[12:14]}Z"
            request = writer.create_warc_record(
                url,
                "request",
                http_headers=StatusAndHeaders("GET / HTTP/1.1", [("Host", "127.0.0.2")], is_http_request=True),
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(request)
            offset = out.tell()
            write_response(writer, url, date, body)
            length = out.tell() - offset
            digest = payload_digest(body).removeprefix("sha1:")
            crawl.lines.append(
                {
                    "urlkey": url,
                    "timestamp": when,
                    "url": url,
                    "mime": "text/html",
                    "mime-detected": "text/html",
                    "status": "200",
                    "digest": digest,
                    "length": str(length),
                    "offset": str(offset),
                    "filename": crawl.filename,
                }
            )
            fields = b"fetchTimeMs: 12\r\n"
            metadata = writer.create_warc_record(
                url,
                "metadata",
                payload=io.BytesIO(fields),
                length=len(fields),
                warc_content_type="application/warc-fields",
            )
            writer.write_record(metadata)


class World:
    """The ministry's readouts as two Common Crawl crawls captured them, a sources file and the CLI."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        items = sites.articles("ministry")
        self.index = {a.path: n for n, a in enumerate(items)}
        self.edited, self.deleted, self.others = items[1], items[3], [items[0], items[2]]
        older = replace(
            self.edited, body_lines=tuple(x.replace(EDITED_FROM, EDITED_TO) for x in self.edited.body_lines)
        )
        assert older.body_lines != self.edited.body_lines
        listing = (f"{SITE}/eng/xw/zyxw/index.html", sites.build_site("ministry")["/eng/xw/zyxw/index.html"].body)
        # sorted by time, two lines a CDX page: the first run's bound of 4 ends inside the 2020 crawl's query
        self.crawl19 = Crawl("CC-MAIN-2019-26", "2019-06-15T00:00:00", "2019-06-27T00:00:00")
        _write_crawl(
            tmp / "data",
            self.crawl19,
            [
                (self.url(self.edited), "20190620080000", self.html(older)),
                (self.url(self.deleted), "20190621080000", self.html(self.deleted)),
                (listing[0], "20190622080000", listing[1]),
            ],
        )
        self.crawl20 = Crawl("CC-MAIN-2020-05", "2020-01-17T00:00:00", "2020-01-29T00:00:00")
        _write_crawl(
            tmp / "data",
            self.crawl20,
            [
                (self.url(self.edited), "20200120080000", self.html(self.edited)),
                (self.url(self.others[0]), "20200121080000", self.html(self.others[0])),
                (self.url(self.others[1]), "20200122080000", self.html(self.others[1])),
                (self.url(self.deleted), "20200123080000", self.html(self.deleted)),  # same digest
                (listing[0], "20200124080000", listing[1]),
            ],
        )
        self.mementos = 5  # the deleted page's second capture has its first one's digest: fetched once
        self.cc = CommonCrawl(tmp / "data", [self.crawl19, self.crawl20])
        self.sources = write_sources(
            tmp / "sources.toml",
            f"""[source.ministry]
start_urls = ['{SITE}/eng/xw/zyxw/index.html']
articles = ['/eng/xw/zyxw/\\d{{6}}/t\\d{{8}}_\\d+\\.html$', '/eng/wjb/wjbz/\\d+/t\\d+\\.html$']
delay = 0
""",
        )
        self.db = tmp / "a.db"

    def url(self, article: sites.FixtureArticle) -> str:
        return SITE + article.path

    def html(self, article: sites.FixtureArticle) -> bytes:
        return sites.render_article("ministry", article, self.index[article.path])

    def backfill(self, *args: str, db: Path | None = None) -> dict[str, Any]:
        cc = ["--archive", "cc", "--cc-index", self.cc.index_url, "--cc-data", self.cc.data_url]
        argv = ["--db", str(db or self.db), "--sources", str(self.sources), "backfill", "ministry", *cc]
        result = CliRunner().invoke(main, [*argv, "--delay", "0", "--jobs", "1", "--json", *args])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, Any]]]:
    w = World(tmp_path_factory.mktemp("backfill-cc"))
    state: dict[str, Any] = {}
    for run, args in (("first", ("--max-pages", "4")), ("second", ()), ("third", ())):
        index_before, data_before = len(w.cc.index_log), len(w.cc.data_log)
        state[run] = w.backfill(*args)
        state[f"{run}_index"] = w.cc.index_log[index_before:]
        state[f"{run}_data"] = w.cc.data_log[data_before:]
        with Archive(w.db, readonly=True) as archive:
            state[f"{run}_cursors"] = list(archive.db.execute("select query, next_page, pages from cdx_cursors"))
    yield w, state
    w.cc.close()


def _history(w: World, url: str) -> list[dict[str, Any]]:
    with Archive(w.db, readonly=True) as archive:
        return changes.history(archive.db, url)


def _range(crawl: Crawl, url: str, when: str) -> tuple[int, int]:
    line = next(x for x in crawl.lines if x["url"] == url and x["timestamp"] == when)
    return int(line["offset"]), int(line["offset"]) + int(line["length"]) - 1


def test_common_crawl_captures_are_archived_with_capture_times_and_warc_ranges_as_provenance(
    world: tuple[World, dict[str, Any]],
) -> None:
    w, _ = world
    for article, when in ((w.others[0], "20200121080000"), (w.others[1], "20200122080000")):
        history = _history(w, w.url(article))
        assert len(history) == 1
        first, last = _range(w.crawl20, w.url(article), when)
        assert history[0]["origin"] == "cc"
        assert history[0]["origin_url"] == f"{w.cc.data_url}/{w.crawl20.filename}#bytes={first}-{last}"
        assert history[0]["captured_at"] == f"2020-01-{when[6:8]}T08:00:00Z"
        assert article.body_lines[0][:40] in history[0]["text"]
    edited = _history(w, w.url(w.edited))
    assert [(h["revision"], h["captured_at"]) for h in edited] == [
        (1, "2019-06-20T08:00:00Z"),
        (2, "2020-01-20T08:00:00Z"),
    ]
    assert EDITED_TO in edited[0]["text"] and EDITED_FROM in edited[1]["text"]
    deleted = _history(w, w.url(w.deleted))
    assert [(h["revision"], h["captured_at"], h["origin"]) for h in deleted] == [(1, "2019-06-21T08:00:00Z", "cc")]
    with Archive(w.db, readonly=True) as archive:
        urls = {r[0] for r in archive.db.execute("select url from pages")}
    assert urls == {w.url(a) for a in (w.edited, w.deleted, *w.others)}  # the listing pages are no articles


def test_each_capture_is_read_once_as_a_range_of_its_warc_file(world: tuple[World, dict[str, Any]]) -> None:
    w, state = world
    reads = state["first_data"] + state["second_data"]
    assert len(reads) == len(set(reads)) == w.mementos
    assert all(r.startswith("/crawl-data/CC-MAIN-20") and " bytes=" in r for r in reads)
    assert state["first"]["fetched"] + state["second"]["fetched"] == w.mementos
    assert state["first"]["errors"] == state["second"]["errors"] == []


def test_a_bounded_run_stops_inside_a_paged_query_and_the_next_run_resumes_at_its_next_page(
    world: tuple[World, dict[str, Any]],
) -> None:
    w, state = world
    assert state["first"]["fetched"] == 4
    ((query, next_page, pages),) = state["first_cursors"]
    assert w.crawl20.name in query and (next_page, pages) == (1, 3)
    second = [
        p
        for p in state["second_index"]
        if p.startswith(f"/{w.crawl20.name}-index?") and "/eng/xw/" in p.replace("%2F", "/")
    ]
    asked = sorted(parse_qs(urlsplit(p).query).get("page", ["count"])[0] for p in second)
    assert asked == ["1", "2", "count"]  # page 0 was read by the first run
    assert state["second"]["resumed"] == 1 and state["second"]["fetched"] == 1
    assert state["second_cursors"] == []  # read to its end: the next run asks again from the start


def test_a_second_run_fetches_nothing(world: tuple[World, dict[str, Any]]) -> None:
    _, state = world
    assert state["third"]["fetched"] == 0 and state["third"]["already"] == 5
    assert state["third_data"] == []
    assert state["third"]["resumed"] == 0


def test_every_crawl_of_the_date_range_is_asked_and_a_prefix_without_captures_is_no_error(
    world: tuple[World, dict[str, Any]],
) -> None:
    w, state = world
    asked = {urlsplit(p).path for p in state["third_index"]}
    assert asked == {"/collinfo.json", f"/{w.crawl19.name}-index", f"/{w.crawl20.name}-index"}
    empty = [p for p in state["third_index"] if "wjbz" in p and "page=0" in p]
    assert len(empty) == 2  # one per crawl, each answered 404 "No Captures found"
    assert state["third"]["queries"] == 4  # two prefixes in each of two crawls
    before = len(w.cc.index_log)
    dated = w.backfill("--from", "2020-01-01")
    # the 2019 crawl is not asked, so the deleted page's 2020 capture (its digest met in 2019 before) is read now
    assert dated["captures"] == 4 and dated["already"] == 3 and dated["fetched"] == dated["unchanged"] == 1
    assert [urlsplit(p).path for p in w.cc.index_log[before:] if "page=" in p] == [f"/{w.crawl20.name}-index"] * 4


def test_a_data_host_that_ignores_range_requests_gives_errors_not_wrong_records(
    world: tuple[World, dict[str, Any]],
) -> None:
    w, _ = world
    w.cc.ranges = False
    try:
        tally = w.backfill("--max-pages", "2", db=w.tmp / "no-ranges.db")
    finally:
        w.cc.ranges = True
    assert tally["fetched"] == 0 and tally["new_pages"] == 0
    assert len(tally["errors"]) == 2 and all("HTTP 200 to a Range request (206 expected)" in e for e in tally["errors"])
