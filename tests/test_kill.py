"""A crawl killed with SIGKILL leaves a sound archive, and the next crawl completes what was lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import subprocess_env, write_sources
from tests.mockserver import Reply, slow

ARTICLES = 30


def article_html(n: int) -> bytes:
    """A small article page with distinct text."""
    return (
        f"<html><head><title>Readout {n}</title></head><body><nav><a href='/'>Home</a> <a href='/news/'>News</a></nav>"
        f"<article><h1>Foreign Minister holds talks number {n}</h1>"
        f"<p>On day {n} the Foreign Minister held talks with his counterpart number {n} in the capital city.</p>"
        f"<p>The two sides exchanged views on bilateral relations and issue {n * 7} of common concern.</p>"
        f"</article><footer>Copyright Ministry</footer></body></html>"
    ).encode()


def pages_with_text(db: Path) -> int:
    """Count archived pages, reading the live file like a user would."""
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return conn.execute("select count(*) from pages where content_hash is not null").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


@pytest.mark.slow
def test_sigkill_mid_crawl_then_rerun_completes(tmp_path: Path, serve) -> None:
    links = "".join(f"<li><a href='/news/{n}.html'>Readout {n}</a></li>" for n in range(ARTICLES))
    routes = {
        "/robots.txt": Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/news/": Reply(f"<html><body><ul>{links}</ul></body></html>".encode()),
        **{f"/news/{n}.html": slow(article_html(n), 0.15) for n in range(ARTICLES)},
    }
    site = serve("127.0.0.6", routes)
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.slow]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/news/\\d+\\.html$']\ndelay = 0\n",
    )
    db = tmp_path / "archive.db"
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), "crawl", "--json"]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while pages_with_text(db) < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "crawl finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    kept = pages_with_text(db)
    assert 8 <= kept < ARTICLES
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select status from runs").fetchone()[0] == "running"  # it never finished
        archived = [urlsplit(r[0]).path for r in conn.execute("select url from pages")]
    rerun = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert pages_with_text(db) == ARTICLES
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("select count(*) from documents").fetchone()[0] == ARTICLES
        statuses = [r[0] for r in conn.execute("select status from runs order by id")]
    assert statuses == ["failed", "ok"]  # the killed run is marked failed by the next one
    # pages archived before the kill were not fetched again
    assert archived and all(site.hits.count(path) == 1 for path in archived)
