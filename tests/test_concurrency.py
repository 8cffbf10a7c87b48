"""Several processes on one archive (README: Reliability) readers during a crawl; manual and scheduled crawls."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from tests.conftest import subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, Route, SiteServer, slow
from tests.test_kill import article_html, assert_sound, pages_with_text
from tests.test_scheduler import Daemon, make_sources, runs, wait_for

pytestmark = pytest.mark.slow
COUNT = 40


def slow_site(serve, host: str, count: int = COUNT, seconds: float = 0.1) -> SiteServer:  # type: ignore[no-untyped-def]
    """A site whose articles each take `seconds` to answer, so a crawl of it lasts a while."""
    routes: dict[str, Route] = {f"/news/{n}.html": slow(article_html(n), seconds) for n in range(count)}
    routes["/news/"] = Reply("".join(f"<a href='/news/{n}.html'>x</a>" for n in range(count)).encode())
    return serve(host, routes)


class Gate:
    """Article routes that answer the first `open_for` requests, then hold every other one until `release()`."""

    def __init__(self, bodies: dict[str, bytes], open_for: int = 0) -> None:
        """Serve these paths; `open_for` requests pass before the gate closes."""
        self.bodies, self.open_for = bodies, open_for
        self.lock, self.released = threading.Lock(), threading.Event()

    def release(self) -> None:
        """Let every held and later request through."""
        self.released.set()

    def routes(self) -> dict[str, Route]:
        """The route table entries of the gated paths."""
        return {path: self._answer for path in self.bodies}

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one request, waiting at the gate when it is closed."""
        with self.lock:
            self.open_for -= 1
            wait = self.open_for < 0
        if wait:
            self.released.wait(120)
        body = self.bodies[handler.path]
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def gated_site(serve, host: str, open_for: int) -> tuple[SiteServer, Gate]:  # type: ignore[no-untyped-def]
    """A site of COUNT articles whose requests past the first `open_for` wait for the test to release them."""
    gate = Gate({f"/news/{n}.html": article_html(n) for n in range(COUNT)}, open_for)
    routes: dict[str, Route] = {
        "/news/": Reply("".join(f"<a href='/news/{n}.html'>x</a>" for n in range(COUNT)).encode())
    }
    return serve(host, {**routes, **gate.routes()}), gate


def pages_of(db: Path, name: str) -> int:
    """Count the archived pages of one source."""
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return conn.execute(
                "select count(*) from pages where content_hash is not null and source = ?", [name]
            ).fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def source(name: str, site: SiteServer, extra: str = "") -> str:
    """A sources-file entry for a slow site."""
    return (
        f"[source.{name}]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/news/\\d+\\.html$']\ndelay = 0\n"
        f"concurrency = 2\n{extra}\n"
    )


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the readouts CLI on the archive."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), *args]
    return subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=120)


def test_search_export_and_check_work_while_a_crawl_writes(tmp_path: Path, serve) -> None:
    site, gate = gated_site(serve, "127.0.0.41", open_for=COUNT // 2)
    sources = write_sources(tmp_path / "s.toml", source("slow", site))
    db = tmp_path / "archive.db"
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), "crawl", "--json"],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: pages_with_text(db) >= 2, 180)
    seen: list[tuple[int, int]] = []

    def read() -> None:  # in this process (a reader other than the crawl), through the CLI's own code
        search = CliRunner().invoke(main, ["--db", str(db), "search", "Foreign Minister", "--limit", "1000", "--json"])
        export = CliRunner().invoke(main, ["--db", str(db), "export"])
        assert search.exit_code == 0 and export.exit_code == 0, search.output + export.output
        seen.append((len(search.stdout.splitlines()), len(export.stdout.splitlines())))

    for _ in range(3):  # half the articles are held at the gate: the crawl is mid-way for all three reads
        read()
    assert crawl.poll() is None and all(0 < n < COUNT for _, n in seen), seen  # the reads overlapped the writes
    gate.release()
    while crawl.poll() is None:
        read()
    _, err = crawl.communicate()
    assert crawl.returncode == 0, err
    found, exported = [f for f, _ in seen], [e for _, e in seen]
    assert found == sorted(found) and exported == sorted(exported), seen  # whole pages only, never fewer
    assert all(json.loads(line)["text"] for line in cli(db, "export").stdout.splitlines())
    assert len(cli(db, "export").stdout.splitlines()) == COUNT
    assert_sound(db)


@pytest.mark.timeout(600)  # a daemon, its crawls and a manual one: on a loaded 2-core machine this takes minutes
def test_a_manual_crawl_and_scheduled_crawls_share_the_archive(tmp_path: Path, serve) -> None:
    ministry_pages = sites.build_site("ministry")
    articles = {a.path for a in sites.articles("ministry")}
    ministry_gate = Gate({path: page.body for path, page in ministry_pages.items() if path in articles})
    listings: dict[str, Route] = {
        path: Reply(page.body) for path, page in ministry_pages.items() if path not in articles
    }
    ministry = serve("127.0.0.42", {**listings, **ministry_gate.routes()})
    embassy, embassy_gate = gated_site(serve, "127.0.0.43", open_for=COUNT // 2)
    held = "page_timeout = '240s'"  # a request held at a gate is not timed out and retried meanwhile
    # a new job runs at once: that first scheduled crawl is the one that must overlap the manual one; a short interval
    # only added a routine re-crawl every few seconds for as long as the test ran (a CPU-second or more each)
    sources = make_sources(tmp_path, ministry, every="1h", extra=f"{held}\n" + source("embassy", embassy, held))
    db = tmp_path / "archive.db"
    daemon = Daemon(db, sources)
    try:
        # the scheduled crawl of the ministry waits at its gate while the manual crawl of the embassy writes; then
        # the ministry's pages are written while half the embassy's are still held: two writers at once, by design
        wait_for(lambda: [r for r in runs(db) if r["status"] == "running"], 120)
        cmd = [
            sys.executable,
            "-m",
            "crawler",
            "--db",
            str(db),
            "--sources",
            str(sources),
            "crawl",
            "embassy",
            "--json",
        ]
        manual_crawl = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: pages_of(db, "embassy") >= 2, 180)
            ministry_gate.release()
            wait_for(lambda: pages_of(db, "ministry") == len(articles), 180)
            assert manual_crawl.poll() is None and pages_of(db, "embassy") < COUNT
            embassy_gate.release()
            _, manual_err = manual_crawl.communicate(timeout=180)
            assert manual_crawl.returncode == 0, manual_err
        finally:
            embassy_gate.release()
            ministry_gate.release()
            if manual_crawl.poll() is None:
                manual_crawl.kill()
                manual_crawl.communicate()
        same = cli(db, "--sources", str(sources), "crawl", "ministry", "--wait", "--recheck", "--json")
        assert same.returncode == 0, same.stderr  # waited for the scheduled crawl of it, then ran
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    history = runs(db)
    assert {r["trigger"] for r in history} == {"manual", "scheduled"}
    assert all(r["status"] in ("ok", "skipped") for r in history), history
    manual_run = next(r for r in history if r["sources"] == '["embassy"]')
    overlapping = [
        r
        for r in history
        if r["trigger"] == "scheduled"
        and r["status"] == "ok"
        and r["started"] <= manual_run["finished"]
        and r["finished"] >= manual_run["started"]
    ]
    assert overlapping, history  # the two writers really ran at once
    with sqlite3.connect(db) as conn:
        by_source = dict(
            conn.execute("select source, count(*) from pages where content_hash is not null group by source")
        )
    assert by_source == {"ministry": len(sites.articles("ministry")), "embassy": COUNT}
    assert pages_with_text(db) == COUNT + len(sites.articles("ministry"))
    assert_sound(db)
    ministry_article = sites.articles("ministry")[0].path
    assert ministry.hits.count(ministry_article) >= 2  # the manual --recheck ran as well as the schedule
