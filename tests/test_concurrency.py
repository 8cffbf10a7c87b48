"""Several processes on one archive (README: Reliability) readers during a crawl; manual and scheduled crawls."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

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
    site = slow_site(serve, "127.0.0.41")
    sources = write_sources(tmp_path / "s.toml", source("slow", site))
    db = tmp_path / "archive.db"
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), "crawl", "--json"],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: pages_with_text(db) >= 2, 60)
    seen: list[tuple[int, int]] = []
    while crawl.poll() is None:
        search = cli(db, "search", "Foreign Minister", "--limit", "1000", "--json")
        export = cli(db, "export")
        assert search.returncode == 0 and export.returncode == 0, search.stderr + export.stderr
        seen.append((len(search.stdout.splitlines()), len(export.stdout.splitlines())))
    _, err = crawl.communicate()
    assert crawl.returncode == 0, err
    found, exported = [f for f, _ in seen], [e for _, e in seen]
    assert len(seen) >= 3 and any(0 < n < COUNT for n in exported), seen  # the reads overlapped the writes
    assert found == sorted(found) and exported == sorted(exported), seen  # whole pages only, never fewer
    assert all(json.loads(line)["text"] for line in cli(db, "export").stdout.splitlines())
    assert len(cli(db, "export").stdout.splitlines()) == COUNT
    assert_sound(db)


def test_a_manual_crawl_and_scheduled_crawls_share_the_archive(tmp_path: Path, serve) -> None:
    ministry_pages = sites.build_site("ministry")
    ministry_routes: dict[str, Route] = {path: slow(page.body, 0.3) for path, page in ministry_pages.items()}
    ministry = serve("127.0.0.42", ministry_routes)
    embassy = slow_site(serve, "127.0.0.43")
    sources = make_sources(tmp_path, ministry, every="2s", extra="\n" + source("embassy", embassy))
    db = tmp_path / "archive.db"
    daemon = Daemon(db, sources)
    try:
        wait_for(lambda: [r for r in runs(db) if r["status"] == "running"], 30)
        manual = cli(db, "--sources", str(sources), "crawl", "embassy", "--json")
        assert manual.returncode == 0, manual.stderr
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
