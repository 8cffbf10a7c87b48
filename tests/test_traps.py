"""Crawler traps (README: Reliability): endless calendars, session ids, reordered queries, looping paths are bounded."""

from __future__ import annotations

import sqlite3
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from crawler.config.urls import canonical_url
from spiders.source_spider import looks_like_trap
from tests.conftest import write_sources
from tests.mockserver import Reply, Route
from tests.test_hostile import article


def calendar(handler: BaseHTTPRequestHandler) -> None:
    """A calendar page for month m linking to m-1 and m+1, for ever (and to one article in month 0)."""
    month = int(parse_qs(urlsplit(handler.path).query).get("m", ["0"])[0])
    links = f'<a href="/cal/?m={month - 1}">prev</a><a href="/cal/?m={month + 1}">next</a>'
    if month == 0:
        links += '<a href="/a/cal.html">the one readout</a>'
    body = f"<html><body><h1>Events of month {month}</h1>{links}</body></html>".encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_canonical_url_removes_sessions_tracking_and_order() -> None:
    base = "http://h/a/s.html?id=3&lang=en"
    for variant in (
        "http://h/a/s.html?lang=en&id=3",
        "http://h/a/s.html?id=3&PHPSESSID=abc&lang=en",
        "http://h/a/s.html;jsessionid=0A1B?lang=en&id=3",
        "http://h/a/s.html?utm_source=x&id=3&UTM_Medium=y&lang=en#top",
        "http://h/a/s.html?sid=9&lang=en&id=3&fbclid=z",
    ):
        assert canonical_url(variant) == canonical_url(base), variant
    assert canonical_url("http://h/a/s.html?id=4") != canonical_url("http://h/a/s.html?id=3")


def test_trap_paths_are_recognised() -> None:
    assert looks_like_trap("http://h/x/x/x/a/4.html")
    assert looks_like_trap("http://h/" + "/".join(f"d{i}" for i in range(20)) + "/a.html")
    assert not looks_like_trap("http://h/eng/zxxx_662805/202305/t20230321_11045293.html")
    assert not looks_like_trap("http://h/a/2023/03/21/a.html")


def test_traps_end_in_bounds_and_the_readouts_are_archived(tmp_path: Path, serve, readouts) -> None:
    variants = [
        "/a/s.html?id=3&lang=en",
        "/a/s.html?lang=en&id=3",
        "/a/s.html?id=3&lang=en&PHPSESSID=1",
        "/a/s.html?id=3&lang=en&PHPSESSID=2",
        "/a/s.html;jsessionid=77?id=3&lang=en",
        "/a/s.html?id=3&lang=en&utm_source=feed",
    ]
    listing = "".join(f'<a href="{v}">v</a>' for v in variants)
    listing += '<a href="/a/good.html">good</a><a href="/x/x/x/a/4.html">trap</a><a href="/cal/?m=0">calendar</a>'
    routes: dict[str, Route] = {
        "/news/": Reply(listing.encode()),
        "/a/s.html": Reply(article(4)),
        "/a/good.html": Reply(article(5)),
        "/a/cal.html": Reply(article(6)),
        "/x/x/x/a/4.html": Reply(article(7)),
        "/cal/": calendar,
    }
    site = serve("127.0.0.21", routes)
    endless = serve(
        "127.0.0.22",
        {"/cal/": calendar, "/a/cal.html": Reply(article(8))},
    )
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.traps]\nstart_urls = ['{site.url('/news/')}']\nfollow = ['/cal/']\narticles = ['/a/']\n"
        "delay = 0\nmax_depth = 6\n\n"
        f"[source.endless]\nstart_urls = ['{endless.url('/cal/?m=0')}']\nfollow = ['/cal/']\narticles = ['/a/']\n"
        "delay = 0\nmax_depth = 0\nmax_pages = 25\n",
    )
    result = readouts("--sources", str(sources), "crawl", "--json", timeout=300)
    assert result.code == 0, result.err
    article_hits = [h for h in site.hits if h.startswith("/a/")]
    assert sorted(article_hits) == ["/a/cal.html", "/a/good.html", "/a/s.html?id=3&lang=en"], site.hits
    assert not any(h.startswith("/x/") for h in site.hits)  # the looping path is never requested
    calendar_hits = [h for h in site.hits if h.startswith("/cal/")]
    assert 0 < len(calendar_hits) <= 2 * 6 + 1, calendar_hits  # max_depth 6 each way from month 0
    assert 0 < len(endless.hits) <= 25 + 1, len(endless.hits)  # max_pages (+ robots.txt)
    print(f"calendar hits: {len(calendar_hits)} (depth-bounded), {len(endless.hits)} (max_pages-bounded)")
    assert "/a/cal.html" in endless.hits
    with sqlite3.connect(tmp_path / "archive.db") as db:
        archived = sorted(
            url.split("/", 3)[3] for (url,) in db.execute("select url from pages where content_hash is not null")
        )
    assert archived == ["a/cal.html", "a/cal.html", "a/good.html", "a/s.html?id=3&lang=en"], archived
