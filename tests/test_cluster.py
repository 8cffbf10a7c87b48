"""Cluster mode end to end: a real redis-server, two real worker processes and a writer crawl the fixture web."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLIResult, subprocess_env, write_sources
from tests.mockserver import SiteServer
from tests.redis_server import RedisServer
from tests.test_crawl import all_articles, sources_toml, start_sites

DELAY = 0.3  # each site's delay: two workers together must keep their requests this far apart


def cli(tmp: Path, db: Path, *args: str, timeout: float = 180) -> CLIResult:
    """Run `readouts` with the test's sources file."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp / "sources.toml"), *args]
    return CLIResult(subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=subprocess_env()))


def daemon(tmp: Path, db: Path, command: str, log: str) -> subprocess.Popen[bytes]:
    """Start `readouts worker` or `readouts writer` in the background, its output in a log file."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp / "sources.toml"), command]
    with open(tmp / log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env())


class Cluster:
    """The fixture web, a Redis server, a writer and two workers, and a single-machine crawl of the same web."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.redis = RedisServer(tmp).start()
        self.servers: dict[str, SiteServer] = start_sites()
        sources = sources_toml(self.servers).replace("delay = 0", f"delay = {DELAY}")
        write_sources(tmp / "local.toml", sources)
        write_sources(tmp / "sources.toml", f'[cluster]\nredis = "{self.redis.url}"\n\n{sources}')
        self.local_db, self.db = tmp / "local.db", tmp / "cluster.db"
        local = [sys.executable, "-m", "crawler", "--db", str(self.local_db), "--sources", str(tmp / "local.toml")]
        subprocess.run([*local, "crawl", "-q"], check=True, timeout=180, env=subprocess_env())
        for server in self.servers.values():
            server.hits.clear()
            server.times.clear()
        self.procs = [daemon(tmp, self.db, "writer", "writer.log")]
        self.procs += [daemon(tmp, self.db, "worker", f"worker{i}.log") for i in (1, 2)]
        self.crawl = cli(tmp, self.db, "crawl", "--json")
        self.status = cli(tmp, self.db, "cluster", "status", "--json")

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=60)
        for server in self.servers.values():
            server.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    yield c
    c.close()


def rows(db: Path, sql: str) -> list[Any]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_crawl_on_the_cluster_records_one_run(cluster: Cluster) -> None:
    assert cluster.crawl.code == 0, cluster.crawl.err
    outcome = cluster.crawl.json()
    assert outcome["status"] == "ok"
    assert outcome["pages_fetched"] == len(all_articles())
    assert rows(cluster.db, "select status, pages_fetched from runs") == [("ok", len(all_articles()))]


def test_every_article_archived_once(cluster: Cluster) -> None:
    urls = [r[0] for r in rows(cluster.db, "select url from pages where content_hash is not null")]
    assert len(urls) == len(set(urls)) == len(all_articles())
    wanted = {cluster.servers[a.site].url(a.path) for a in all_articles()}
    assert set(urls) == wanted


def test_no_url_fetched_twice(cluster: Cluster) -> None:
    for name, server in cluster.servers.items():
        pages = [p for p in server.hits if p != "/robots.txt"]
        assert pages, name
        assert len(pages) == len(set(pages)), (name, sorted(pages))


def test_each_site_delay_held_across_both_workers(cluster: Cluster) -> None:
    for name, server in cluster.servers.items():
        times = sorted(t for path, t in server.times if path != "/robots.txt")
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= DELAY - 0.05, (name, [round(g, 3) for g in gaps])


def test_archive_identical_to_a_single_machine_crawl(cluster: Cluster) -> None:
    sql = "select content_hash, title, text from documents order by content_hash"
    assert rows(cluster.db, sql) == rows(cluster.local_db, sql)
    copies = "select count(*) from copies"
    assert rows(cluster.db, copies) == rows(cluster.local_db, copies)


def test_cluster_status_shows_two_workers_and_the_writer(cluster: Cluster) -> None:
    assert cluster.status.code == 0, cluster.status.err
    state = cluster.status.json()
    assert len([w for w in state["workers"] if w["alive"]]) == 2
    assert sum(w["pages"] for w in state["workers"]) >= len(all_articles())
    assert state["writer"]["alive"] and state["writer"]["recorded"] > 0
    assert state["queued"] == 0 and state["results_waiting"] == 0 and state["open_runs"] == []


def test_warc_captures_written_by_the_writer(cluster: Cluster) -> None:
    warcs = list(Path(f"{cluster.db}.warc").glob("*.warc.gz"))
    assert warcs
    assert rows(cluster.db, "select count(*) from captures")[0][0] >= len(all_articles())
