"""Sites that push back (README: Reliability): Retry-After on 429/503 honoured; 403 bursts, long pauses stop it."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from spiders.middlewares import BackoffMiddleware, SourceStopped, retry_after_seconds
from tests.conftest import write_sources
from tests.mockserver import Reply, Route
from tests.test_hostile import article


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 120 ") == 120.0
    assert retry_after_seconds("Tue, 24 Nov 2026 12:01:30 GMT", now=now) == 90.0
    assert retry_after_seconds("Tue, 24 Nov 2026 11:00:00 GMT", now=now) == 0.0  # a date in the past: no wait
    for bad in (None, "", "soon", "-5", "1.5e9x"):
        assert retry_after_seconds(bad) is None, bad


class Throttled:
    """A route answering 429 with a Retry-After the first `refusals` times, then the page; it logs answer times."""

    def __init__(self, body: bytes, retry_after: str, refusals: int = 1, status: int = 429) -> None:
        """Set the page, the header value and how often to refuse."""
        self.body, self.retry_after, self.refusals, self.status = body, retry_after, refusals, status
        self.times: list[tuple[float, int]] = []

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        refuse = len(self.times) < self.refusals
        status, body = (self.status, b"slow down") if refuse else (200, self.body)
        self.times.append((time.monotonic(), status))
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        if refuse:
            handler.send_header("Retry-After", self.retry_after)
        handler.end_headers()
        handler.wfile.write(body)


def listing(*paths: str) -> Reply:
    """A listing page linking to the paths."""
    return Reply("".join(f'<a href="{p}">x</a>' for p in paths).encode())


def test_retry_after_is_waited_for_then_the_page_is_archived(tmp_path: Path, serve, readouts) -> None:
    throttled = Throttled(article(0), "2")
    unavailable = Throttled(article(1), "1", status=503)
    site = serve(
        "127.0.0.31",
        {"/news/": listing("/a/t.html", "/a/u.html"), "/a/t.html": throttled, "/a/u.html": unavailable},
    )
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n",
    )
    result = readouts("--sources", str(sources), "crawl", "--json")
    assert result.code == 0, result.err
    assert result.json()["new_documents"] == 2 and result.json()["stopped"] == {}
    (first, status1), (second, status2) = throttled.times
    assert (status1, status2) == (429, 200)
    assert second - first >= 2.0  # waited as long as the site asked
    (first, status1), (second, status2) = unavailable.times
    assert (status1, status2) == (503, 200) and second - first >= 1.0


def test_a_long_retry_after_defers_the_source_and_others_go_on(tmp_path: Path, serve, readouts) -> None:
    deferring = Throttled(article(2), "3600", refusals=99)
    busy = serve("127.0.0.32", {"/news/": listing("/a/1.html", "/a/2.html"), "/a/1.html": deferring})
    calm = serve("127.0.0.33", {"/news/": listing("/a/ok.html"), "/a/ok.html": Reply(article(3))})
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.busy]\nstart_urls = ['{busy.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n\n"
        f"[source.calm]\nstart_urls = ['{calm.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n",
    )
    started = time.monotonic()
    result = readouts("--sources", str(sources), "crawl", "--json")
    assert result.code == 0, result.err
    assert time.monotonic() - started < 60  # nobody waited an hour
    summary = result.json()
    assert summary["stopped"]["busy"].startswith("deferred: the site asked to wait 3600s"), summary
    assert "calm" not in summary["stopped"]
    assert [r["source"] for r in readouts("export").jsonl()] == ["calm"]
    alerts = {s["source"]: s["alerts"] for s in readouts("--sources", str(sources), "sources", "--json").jsonl()}
    assert any("stopped early" in a and "deferred" in a for a in alerts["busy"]), alerts
    assert alerts["calm"] == []  # the other source's failures are not the calm one's


def test_a_burst_of_403_stops_the_source_after_ten(tmp_path: Path, serve, readouts) -> None:
    paths = [f"/a/{i}.html" for i in range(15)]
    routes: dict[str, Route] = {p: Reply(b"Forbidden", status=403) for p in paths}
    blocked = serve("127.0.0.34", {"/news/": listing(*paths), **routes})
    calm = serve("127.0.0.35", {"/news/": listing("/a/ok.html"), "/a/ok.html": Reply(article(4))})
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.blocked]\nstart_urls = ['{blocked.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
        "concurrency = 1\n\n"
        f"[source.calm]\nstart_urls = ['{calm.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n",
    )
    result = readouts("--sources", str(sources), "crawl", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["stopped"]["blocked"].startswith("blocked: 10 HTTP 403 answers in a row"), summary
    asked = [h for h in blocked.hits if h.startswith("/a/")]
    # the tenth refusal stops the source: at most the one request already on the wire follows (concurrency 1)
    assert 10 <= len(asked) <= 11, asked
    assert [r["source"] for r in readouts("export").jsonl()] == ["calm"]
    with sqlite3.connect(tmp_path / "archive.db") as db:
        errors = [e for (e,) in db.execute("select error from pages where source = 'blocked'")]
        documents = db.execute("select count(*) from documents").fetchone()[0]
    assert len(errors) == len(asked) and all("403" in e for e in errors), errors  # the rest: asked again next run
    assert documents == 1
    alerts = {s["source"]: s["alerts"] for s in readouts("--sources", str(sources), "sources", "--json").jsonl()}
    assert any("stopped early" in a and "403" in a for a in alerts["blocked"]), alerts


def test_a_stopped_source_sends_no_further_request() -> None:
    middleware = BackoffMiddleware(get_crawler())
    request = Request("http://127.0.0.36/a/1.html")
    assert middleware.process_request(request) is None
    middleware.stopped = True
    with pytest.raises(SourceStopped, match="not requested"):
        middleware.process_request(request)
