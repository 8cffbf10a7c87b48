"""`readouts backfill` against a real pywb on loopback, whose collection holds WARC files the test writes (a
ministry's readouts captured at several dates, one since deleted from the live site, one with an older wording),
behind a small proxy that answers 429 with Retry-After once. The rules of backfill.py one by one first."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from warcio.warcwriter import WARCWriter

from crawler.config.sources import parse_sources
from crawler.history.backfill import (
    CC_DATA,
    CC_INDEX,
    BackfillError,
    Capture,
    cdx_query,
    choose,
    crawl_indexes,
    page_count,
    parse_cdx,
    prefixes,
    resume_at,
    retry_after,
    warc_response,
    web_archive,
)
from storage import changes
from storage.archive import Archive
from tests import pywb_env
from tests.conftest import subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, SiteServer
from tests.test_crawl import sources_toml
from tests.warc_records import write_response

EDITED_FROM = "Both sides also exchanged views on the situations in Ukraine, on the Korean Peninsula, and other issues."
EDITED_TO = "Both sides also exchanged views on the situation on the Korean Peninsula and other issues."  # the older

SOURCE = parse_sources(
    """[source.m]
start_urls = ['http://127.0.0.2:8000/eng/xw/zyxw/index.html']
articles = ['/eng/xw/zyxw/\\d{6}/t\\d{8}_\\d+\\.html$', '/eng/wjb/wjbz/\\d+/t\\d+\\.html$']
"""
)["m"]


def test_prefixes_come_from_start_urls_and_article_patterns() -> None:
    assert prefixes(SOURCE) == ["http://127.0.0.2:8000/eng/wjb/wjbz/", "http://127.0.0.2:8000/eng/xw/zyxw/"]


def test_cdx_answers_of_the_wayback_machine_and_of_pywb_are_read() -> None:
    wayback = '[["urlkey","timestamp","original","mimetype","statuscode","digest","length"],'
    wayback += '["x","20190607000000","http://a/1.html","text/html","200","D1","10"]]'
    pywb = '{"urlkey": "x", "timestamp": "20190607000000", "url": "http://a/1.html", "mime": "text/html", '
    pywb += '"status": "200", "digest": "D1", "length": "10"}\n'
    expected = [Capture("20190607000000", "http://a/1.html", "D1", "text/html", "200", length=10)]
    assert parse_cdx(wayback) == parse_cdx(pywb) == expected
    cc = '{"urlkey": "x", "timestamp": "20190607000000", "url": "http://a/1.html", "mime": "text/html", '
    cc += '"mime-detected": "text/html", "status": "200", "digest": "D1", "length": "10", "offset": "4711", '
    cc += '"filename": "crawl-data/CC-MAIN-2019-26/segments/1/warc/x.warc.gz", "languages": "eng"}'
    assert parse_cdx(cc) == [
        replace(expected[0], filename="crawl-data/CC-MAIN-2019-26/segments/1/warc/x.warc.gz", offset=4711)
    ]
    assert parse_cdx("") == parse_cdx("[]") == []


def test_one_capture_per_article_url_and_digest_answered_200_with_html_in_range() -> None:
    url = "http://127.0.0.2:8000/eng/xw/zyxw/201906/t20190606_600000.html"
    found = [
        Capture("20200101000000", url, "A", "text/html", "200"),
        Capture("20190607000000", url, "A", "text/html", "200"),  # same digest, earlier: the one kept
        Capture("20210101000000", url, "B", "text/html", "200"),
        Capture("20210102000000", url, "C", "text/html", "404"),
        Capture("20210103000000", url, "D", "application/pdf", "200"),
        Capture("20210104000000", "http://127.0.0.2:8000/eng/xw/zyxw/index.html", "E", "text/html", "200"),
    ]
    assert [c.timestamp for c in choose(found, SOURCE, None, None)] == ["20190607000000", "20210101000000"]
    assert [c.timestamp for c in choose(found, SOURCE, "2020-01-01", None)] == ["20200101000000", "20210101000000"]
    assert [c.timestamp for c in choose(found, SOURCE, None, "2019-06-07")] == ["20190607000000"]


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("7", 1.0) == 7.0
    assert retry_after(None, 2.5) == 2.5
    assert retry_after("soon", 2.5) == 2.5
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1.0) == 0.0  # in the past


def test_archive_names() -> None:
    assert web_archive("ia").cdx == "https://web.archive.org/cdx/search/cdx"
    assert web_archive("http://127.0.0.5:8080/coll/").cdx == "http://127.0.0.5:8080/coll/cdx"
    cc = web_archive("cc")
    assert (cc.name, cc.cdx, cc.replay, cc.common_crawl) == ("cc", CC_INDEX, CC_DATA, True)
    assert web_archive("cc", "http://127.0.0.6:81/", "http://127.0.0.7:82").cdx == "http://127.0.0.6:81"
    assert not web_archive("ia").common_crawl
    for bad in ("ftp://x/", "nonsense"):
        with pytest.raises(BackfillError):
            web_archive(bad)
    with pytest.raises(BackfillError, match="--cc-data"):
        web_archive("cc", CC_INDEX, "data.example")


def test_page_counts_of_the_wayback_machine_pywb_and_common_crawl() -> None:
    assert page_count("12\n") == 12  # the Wayback Machine
    assert page_count('{"pages": 3, "pageSize": 5, "blocks": 11}') == 3  # pywb's zipnum index, Common Crawl
    assert page_count('{"pages": 0, "pageSize": 5, "blocks": 0}') == 0
    # an index that is not paged answers with its captures: read as one answer
    assert page_count('{"urlkey": "x", "timestamp": "2019", "url": "http://a/"}') is None
    assert page_count("com,a)/ 20190607000000 {}") is None
    assert page_count("") is None and page_count("true") is None


@pytest.mark.parametrize(("cursor", "pages", "start"), [(0, 3, 0), (2, 3, 2), (3, 3, 0), (5, 2, 0), (-1, 3, 0)])
def test_a_paged_query_resumes_where_it_stopped_unless_the_index_shrank(cursor: int, pages: int, start: int) -> None:
    assert resume_at(cursor, pages) == start


def test_the_crawls_asked_are_those_of_the_date_range_oldest_first() -> None:
    collinfo = [
        {
            "id": "CC-MAIN-2024-10",
            "cdx-api": "https://i/CC-MAIN-2024-10-index",
            "from": "2024-02-20T14:44:42",
            "to": "2024-03-05T06:35:11",
        },
        {
            "id": "CC-MAIN-2019-26",
            "cdx-api": "/CC-MAIN-2019-26-index",
            "from": "2019-06-15T00:00:00",
            "to": "2019-06-27T00:00:00",
        },
        {"id": "CC-MAIN-2013-20", "cdx-api": "https://i/CC-MAIN-2013-20-index"},  # says not when: always asked
        {"id": "broken"},
    ]
    every = ["https://i/CC-MAIN-2013-20-index", "http://b/CC-MAIN-2019-26-index", "https://i/CC-MAIN-2024-10-index"]
    assert crawl_indexes(collinfo, "http://b", None, None) == every
    assert crawl_indexes(collinfo, "http://b", "2019-06-27", None) == every
    assert crawl_indexes(collinfo, "http://b", "2019-06-28", None) == [every[0], every[2]]
    assert crawl_indexes(collinfo, "http://b", None, "2019-06-15") == every[:2]
    assert crawl_indexes(collinfo, "http://b", None, "2019-06-14") == every[:1]
    assert crawl_indexes(collinfo, "http://b", "2020-01-01", "2024-02-19") == every[:1]


def test_cdx_queries_carry_the_prefix_and_the_days() -> None:
    plain = cdx_query("http://i/cdx", "http://a/eng/", None, None)
    assert plain == "http://i/cdx?url=http%3A%2F%2Fa%2Feng%2F&matchType=prefix&output=json"
    dated = cdx_query("http://i/cdx", "http://a/eng/", "2019-06-07", "2020-01-31")
    assert dated.endswith("&from=20190607&to=20200131235959")


def test_a_common_crawl_record_is_read_from_its_bytes() -> None:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    write_response(writer, "http://a/1.html", "2019-06-07T08:00:00Z", b"<html>one</html>")
    headers, body = warc_response(out.getvalue(), "http://a/1.html")
    assert body == b"<html>one</html>" and ("Content-Type", "text/html; charset=utf-8") in headers
    with pytest.raises(ValueError, match="not of"):
        warc_response(out.getvalue(), "http://a/2.html")
    with pytest.raises(ValueError):
        warc_response(b"<html>not a WARC record</html>", "http://a/1.html")


# --- end to end against pywb ----------------------------------------------------------------------------------


class Proxy(ThreadingHTTPServer):
    """Forwards GETs to pywb, logs (time, path, status), and answers the first memento request with a 429."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.4", 0), _ProxyHandler)
        self.upstream = upstream
        self.log: list[tuple[float, str, int]] = []
        self.refused = False

    def start(self) -> Proxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy  # type: ignore[assignment]

    def do_GET(self) -> None:
        if "id_/" in self.path and not self.server.refused:
            self.server.refused = True
            self.server.log.append((time.monotonic(), self.path, 429))
            self.send_response(429)
            self.send_header("Retry-After", "2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            with urllib.request.urlopen(self.server.upstream + self.path, timeout=60) as answer:
                status, headers, body = answer.status, list(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, list(exc.headers.items()), exc.read()
        self.server.log.append((time.monotonic(), self.path, status))
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class World:
    """The live ministry site (one readout deleted), a pywb collection of its past, the proxy and the CLI."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        items = sites.articles("ministry")
        self.kept, self.edited, self.deleted = items[0], items[1], items[3]
        self.others = [items[0], items[2]]
        old_lines = tuple(line.replace(EDITED_FROM, EDITED_TO) for line in self.edited.body_lines)
        assert old_lines != self.edited.body_lines
        self.older = replace(self.edited, body_lines=old_lines)
        routes: dict[str, Any] = {p: Reply(page.body) for p, page in sites.build_site("ministry").items()}
        routes.pop(self.deleted.path)
        self.site = SiteServer("127.0.0.2", routes).start()
        self.sources = write_sources(
            tmp / "sources.toml",
            sources_toml({"ministry": self.site}),
        )
        self.index = {a.path: n for n, a in enumerate(items)}
        self.warc = tmp / "ministry-past.warc.gz"
        with open(self.warc, "wb") as out:
            writer = WARCWriter(out, gzip=True)
            write_response(writer, self.url(self.edited), "2019-06-07T08:00:00Z", self.html(self.older))
            write_response(writer, self.url(self.edited), "2020-01-01T08:00:00Z", self.html(self.edited))
            for article in self.others:
                write_response(writer, self.url(article), "2020-01-01T09:00:00Z", self.html(article))
            write_response(writer, self.url(self.deleted), "2019-07-10T08:00:00Z", self.html(self.deleted))
            write_response(writer, self.url(self.deleted), "2020-02-01T08:00:00Z", self.html(self.deleted))
            listing = sites.build_site("ministry")["/eng/xw/zyxw/index.html"].body
            write_response(writer, self.site.url("/eng/xw/zyxw/index.html"), "2020-01-01T07:00:00Z", listing)
        self.mementos = 5  # two of the edited page, one of each other page, one of the deleted page (same digest)
        home = self.tmp / "pywb"
        home.mkdir()
        self.wayback = pywb_env.serve(home, "past", [str(self.warc)])
        self.pywb, self.pywb_log = self.wayback.base, self.wayback.log
        self.proxy = Proxy(self.pywb).start()
        self.archive_url = f"http://127.0.0.4:{self.proxy.server_address[1]}/past"

    def url(self, article: sites.FixtureArticle) -> str:
        return self.site.url(article.path)

    def html(self, article: sites.FixtureArticle) -> bytes:
        return sites.render_article("ministry", article, self.index[article.path])

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "crawler", "--db", str(self.tmp / "a.db"), "--sources", str(self.sources), *args]

    def backfill(self, *args: str) -> dict[str, Any]:
        cmd = self.cli("backfill", "ministry", "--archive", self.archive_url, "--delay", "0.2", "--json", *args)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=subprocess_env())
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    def close(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        self.site.stop()
        self.wayback.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, Any]]]:
    w = World(tmp_path_factory.mktemp("backfill"))
    state: dict[str, Any] = {}
    crawl = subprocess.run(w.cli("crawl", "--json"), capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert crawl.returncode == 0, crawl.stderr
    state["crawl"] = json.loads(crawl.stdout)
    # the first backfill is killed once it has fetched two mementos
    cmd = w.cli("backfill", "ministry", "--archive", w.archive_url, "--delay", "0.5")
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=subprocess_env())
    assert first.stderr is not None
    for line in first.stderr:
        if line.startswith("fetched 2:"):
            first.kill()
            break
    first.wait(timeout=60)
    first.stderr.close()
    state["killed_at"] = len([p for _, p, s in w.proxy.log if "id_/" in p and s == 200])
    state["second"] = w.backfill()
    state["mementos_after_second"] = [p for _, p, s in w.proxy.log if "id_/" in p and s == 200]
    state["third"] = w.backfill()
    state["mementos_after_third"] = [p for _, p, s in w.proxy.log if "id_/" in p and s == 200]
    yield w, state
    w.close()


def _history(w: World, url: str) -> list[dict[str, Any]]:
    archive = Archive(w.tmp / "a.db", readonly=True)
    try:
        return changes.history(archive.db, url)
    finally:
        archive.close()


@pytest.mark.slow
def test_an_interrupted_backfill_resumes_and_a_second_run_fetches_nothing(world: tuple[World, dict[str, Any]]) -> None:
    w, state = world
    assert state["killed_at"] >= 2
    fetched = state["mementos_after_second"]
    assert len(set(fetched)) == w.mementos  # every memento fetched…
    assert len(fetched) <= w.mementos + 1  # …once (the one on the wire at the kill at most twice)
    assert state["second"]["fetched"] == w.mementos - state["killed_at"] or len(fetched) == w.mementos + 1
    assert state["third"]["fetched"] == 0 and state["third"]["already"] == w.mementos
    assert state["mementos_after_third"] == fetched  # the third run asked pywb for no memento


@pytest.mark.slow
def test_a_429_with_retry_after_is_honoured(world: tuple[World, dict[str, Any]]) -> None:
    w, _ = world
    refused = [(t, p) for t, p, s in w.proxy.log if s == 429]
    assert len(refused) == 1
    at, path = refused[0]
    again = next(t for t, p, s in w.proxy.log if p == path and s == 200)
    assert again - at >= 2.0


@pytest.mark.slow
def test_pages_archived_once_with_capture_times_and_mementos_as_provenance(world: tuple[World, dict[str, Any]]) -> None:
    w, _ = world
    for article in w.others:
        history = _history(w, w.url(article))
        assert len(history) == 1  # the capture holds the live text: the revision dates from the capture
        assert history[0]["captured_at"] == "2020-01-01T09:00:00Z"
        assert history[0]["origin"] == w.archive_url
        assert history[0]["origin_url"] == f"{w.archive_url}/20200101090000id_/{w.url(article)}"


@pytest.mark.slow
def test_the_older_wording_is_an_earlier_revision_and_a_change_found_in_retrospect(
    world: tuple[World, dict[str, Any]],
) -> None:
    w, _ = world
    history = _history(w, w.url(w.edited))
    assert [(h["revision"], h["captured_at"]) for h in history] == [
        (1, "2019-06-07T08:00:00Z"),
        (2, "2020-01-01T08:00:00Z"),
    ]
    assert EDITED_TO in history[0]["text"] and EDITED_FROM in history[1]["text"]
    archive = Archive(w.tmp / "a.db", readonly=True)
    found = [e for e in changes.events(archive.db, kinds=["changed"]) if e["url"] == w.url(w.edited)]
    pending = changes.events(archive.db, pending=True, live=True)
    archive.close()
    assert [(e["revision"], e["retrospective"]) for e in found] == [(2, 1)]
    assert not [e for e in pending if e["kind"] == "changed"]  # never sent as a live notification


@pytest.mark.slow
def test_the_deleted_readout_is_recovered_and_marked_gone(world: tuple[World, dict[str, Any]]) -> None:
    w, _ = world
    history = _history(w, w.url(w.deleted))
    assert [(h["revision"], h["captured_at"]) for h in history] == [(1, "2019-07-10T08:00:00Z")]
    assert w.deleted.body_lines[0][:40] in history[0]["text"]
    archive = Archive(w.tmp / "a.db", readonly=True)
    state = archive.db.execute("select state, status from pages where url = ?", [w.url(w.deleted)]).fetchone()
    archive.close()
    assert state == ("gone", 404)
