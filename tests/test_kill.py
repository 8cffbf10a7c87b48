"""A crawl killed with SIGKILL leaves a sound archive, and the next crawl completes what was lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import cli_here, subprocess_env, write_sources
from tests.mockserver import Reply, Route, SiteServer, slow

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
    deadline = time.time() + 180
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


def children_of(pid: int) -> list[int]:
    """Return the PIDs of a process's children (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def extraction_workers(pid: int) -> list[int]:
    """Return the PIDs of a crawl's extraction workers: its fork server's children (the server loads, not extracts)."""
    return [grandchild for child in children_of(pid) for grandchild in children_of(child)]


def descendants_of(pid: int) -> list[int]:
    """Return the PIDs of a process's descendants: its extraction workers are children of its fork server."""
    found, stack = [], children_of(pid)
    while stack:
        found.append(stack.pop())
        stack.extend(children_of(found[-1]))
    return found


def cpu_seconds(pid: int) -> float:
    """Return the user CPU time a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return int(fields[11]) / os.sysconf("SC_CLK_TCK")


def alive(pid: int) -> bool:
    """Return True while a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_sound(db: Path) -> None:
    """The archive passes SQLite's integrity check and readouts' own consistency checks."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check = cli_here(db, "check", "--json")  # in this process: the killed crawl is the process under test
    assert check.code == 0, check.out + check.err


def crawl_command(tmp_path: Path, site: SiteServer) -> tuple[Path, list[str]]:
    """Return the archive path and the `readouts crawl` command line for one site's /news/ articles."""
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/news/\\d+\\.html$']\ndelay = 0\n"
        "concurrency = 8\n",
    )
    db = tmp_path / "archive.db"
    return db, [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), "crawl", "--json"]


@pytest.mark.slow
def test_sigkill_while_a_page_is_being_fetched(tmp_path: Path, serve) -> None:
    release = threading.Event()

    def held(handler: BaseHTTPRequestHandler) -> None:
        """Answer only once released (the crawl is killed while waiting for this page)."""
        release.wait(30)
        body = article_html(99)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    paths = [f"/news/{n}.html" for n in range(6)] + ["/news/99.html"]
    routes: dict[str, Route] = {p: Reply(article_html(int(p[6:-5]))) for p in paths[:-1]}
    routes["/news/99.html"] = held
    routes["/news/"] = Reply("".join(f"<a href='{p}'>x</a>" for p in paths).encode())
    site = serve("127.0.0.7", routes)
    db, cmd = crawl_command(tmp_path, site)
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while (pages_with_text(db) < 6 or "/news/99.html" not in site.hits) and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None and "/news/99.html" in site.hits
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    release.set()
    assert_sound(db)
    assert pages_with_text(db) == 6
    rerun = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert pages_with_text(db) == 7 and site.hits.count("/news/99.html") == 2
    assert_sound(db)


@pytest.mark.slow
@pytest.mark.timeout(300)  # three crawls of a 6 MB page (one killed) and checks: minutes on a loaded 2-core machine
def test_sigkill_during_extraction_leaves_no_worker_behind(tmp_path: Path, serve) -> None:
    paragraphs = "".join(f"<p>Paragraph {i} of a very long page about the talks.</p>" for i in range(100000))
    routes: dict[str, Route] = {
        "/news/": Reply(b"<a href='/news/1.html'>1</a><a href='/news/2.html'>2</a><a href='/news/huge.html'>h</a>"),
        "/news/1.html": Reply(article_html(1)),
        "/news/2.html": Reply(article_html(2)),
        "/news/huge.html": Reply(f"<html><body><article>{paragraphs}</article></body></html>".encode()),
    }
    site = serve("127.0.0.8", routes)
    source = f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/news/\\w+\\.html$']\ndelay = 0\n"
    db = tmp_path / "archive.db"
    patient = write_sources(tmp_path / "patient.toml", source + "extract_timeout = '120s'\n")
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(patient), "crawl", "--json"]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # a worker has spent a second of CPU: only the huge page takes that long to extract (~20 s in all)
    deadline = time.time() + 200
    while not any(cpu_seconds(w) >= 1 for w in extraction_workers(proc.pid)) and time.time() < deadline:
        time.sleep(0.05)
    workers = descendants_of(proc.pid)  # the fork server too
    assert proc.poll() is None and workers
    os.kill(proc.pid, signal.SIGKILL)
    # the fork server exits with its crawl and the kernel kills the workers with it (PR_SET_PDEATHSIG): in
    # moments, not when the page is done
    deadline = time.time() + 5
    while [w for w in workers if alive(w)] and time.time() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)]
    proc.communicate(timeout=30)
    assert_sound(db)
    # 10 s: far below the huge page's ~20 s, far above a small page's first extraction in a cold worker under load
    strict = write_sources(tmp_path / "strict.toml", source + "extract_timeout = '10s'\n")
    rerun = subprocess.run(
        [*cmd[:-4], "--sources", str(strict), "crawl", "--json"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert pages_with_text(db) == 2
    with sqlite3.connect(db) as conn:
        (error,) = conn.execute("select error from pages where url like '%huge.html'").fetchone()
    assert error.startswith("extraction timed out")
    assert_sound(db)


@pytest.mark.slow
@pytest.mark.timeout(600)  # seven crawls of 120 pages: over 300 s with four workers and two CPU burners on two cores
def test_repeated_sigkills_while_writing_lose_nothing_committed(tmp_path: Path, serve) -> None:
    count = 120
    routes: dict[str, Route] = {f"/news/{n}.html": Reply(article_html(n)) for n in range(count)}
    routes["/news/"] = Reply("".join(f"<a href='/news/{n}.html'>x</a>" for n in range(count)).encode())
    site = serve("127.0.0.9", routes)
    db, cmd = crawl_command(tmp_path, site)
    kept = 0
    for attempt in range(6):
        proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 180
        # kill at a different number of newly written pages each time: mid-stream of commits
        while pages_with_text(db) < kept + 3 + 2 * attempt and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        assert_sound(db)
        now = pages_with_text(db)
        assert now >= kept  # nothing committed is ever lost
        kept = now
    rerun = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    assert pages_with_text(db) == count
    assert_sound(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from documents").fetchone()[0] == count
        statuses = [r[0] for r in conn.execute("select status from runs order by id")]
    assert statuses == ["failed"] * 6 + ["ok"]
