"""Cluster runs as one machine's: a crawl cut by max_pages keeps its frontier and resumes from it, one crawl of a
source at a time, a scheduled run past its timeout cancelled in the cluster. Real redis-server, real writer, worker
and daemon processes, sites on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TESTS, subprocess_env, write_sources
from tests.mockserver import Reply, Route, SiteServer, send_html
from tests.redis_server import RedisServer
from tests.test_cluster import cli, daemon, rows, wait_until
from tests.test_cluster_scale import stop_all
from tests.test_kill import article_html


class Gate:
    """Routes that answer only once the test opens the gate, and say when a request first reached them."""

    def __init__(self) -> None:
        self.entered, self.opened = threading.Event(), threading.Event()

    def route(self, body: bytes) -> Route:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            self.entered.set()
            self.opened.wait(300)
            send_html(handler, body)

        return answer


def links(*paths: str) -> Reply:
    return Reply("".join(f"<p><a href='{p}'>{p}</a></p>" for p in paths).encode())


class Cluster:
    """A Redis server, sites on loopback, the sources file naming them, and the processes started."""

    def __init__(self, tmp: Path, sites: dict[str, SiteServer], entries: str) -> None:
        self.tmp, self.db, self.sites = tmp, tmp / "cluster.db", sites
        self.redis = RedisServer(tmp).start()
        write_sources(tmp / "sources.toml", f'[cluster]\nredis = "{self.redis.url}"\n\n{entries}')
        self.procs: dict[str, subprocess.Popen[Any]] = {}

    def start(self, *names: str) -> None:
        for name in names:
            command = "writer" if name.startswith("writer") else "worker"
            self.procs[name] = daemon(self.tmp, self.db, command, f"{name}.log")

    def client(self) -> Any:
        from crawler.cluster import keys

        return keys.connect(self.redis.url)

    def beats(self) -> list[dict[str, Any]]:
        from crawler.cluster import keys

        return [json.loads(v) for v in self.client().hvals(keys.WORKERS)]

    def close(self) -> None:
        stop_all(self.procs.values(), self.sites.values(), self.redis)


def source(name: str, server: SiteServer, more: str = "") -> str:
    articles, follow = "/news/a\\d+\\.html$", "/news/p\\d+\\.html$"
    entry = f"[source.{name}]\nstart_urls = ['{server.url('/news/')}']\narticles = ['{articles}']\n"
    return f"{entry}follow = ['{follow}']\ndelay = 0\nconcurrency = 1\n{more}\n"


# --- a crawl cut by max_pages keeps where its listing walk stopped; the next one resumes there ---


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, list[Any]]]:
    """Two crawls with --max-pages 2 of a listing whose second page the first crawl's bound keeps back."""
    routes: dict[str, Route] = {f"/news/a{n}.html": Reply(article_html(n)) for n in range(1, 5)}
    routes["/news/"] = links("/news/a1.html", "/news/a2.html", "/news/p2.html")
    routes["/news/p2.html"] = links("/news/a3.html", "/news/a4.html")
    server = SiteServer("127.0.0.81", routes).start()
    web = Cluster(tmp_path_factory.mktemp("cut"), {"s": server}, source("s", server))
    web.start("writer", "worker")
    try:
        crawls = []
        for _ in range(2):
            server.hits.clear()
            result = cli(web.tmp, web.db, "crawl", "--json", "--max-pages", "2")
            assert result.code == 0, result.err
            frontier = rows(web.db, "select url, kind from frontier where source = 's' order by url")
            crawls.append((result.json(), sorted(set(server.hits) - {"/robots.txt"}), frontier))
        yield web, crawls
    finally:
        web.close()


def test_a_cut_cluster_crawl_says_bounded_and_keeps_its_frontier(cut: tuple[Cluster, list[Any]]) -> None:
    web, crawls = cut
    outcome, hits, frontier = crawls[0]
    assert hits == ["/news/", "/news/a1.html", "/news/a2.html"]
    assert frontier == [(web.sites["s"].url("/news/p2.html"), "listing")]  # what the bound kept back
    assert outcome["bounded"] == {"s": {"max_pages": 2, "resume_at": 1, "rechecks_left": 0}}
    bounded = rows(web.db, "select bounded from runs order by id")[0][0]
    assert json.loads(bounded) == outcome["bounded"]  # in the runs table too, as on one machine


def test_the_next_cluster_crawl_resumes_where_the_cut_one_stopped(cut: tuple[Cluster, list[Any]]) -> None:
    _web, crawls = cut
    outcome, hits, frontier = crawls[1]
    # /news/ lists only known articles (stop-on-seen): only the kept frontier leads to a3 and a4
    assert hits == ["/news/", "/news/a3.html", "/news/a4.html", "/news/p2.html"]
    assert outcome["new_pages"] == 2
    assert frontier == [] and outcome["bounded"] == {}  # nothing left behind this time


def test_the_writer_seeds_a_source_with_its_kept_frontier(tmp_path: Path) -> None:
    from crawler.cluster import keys
    from crawler.cluster.ask import ask_crawl
    from crawler.cluster.writer import Writer
    from crawler.config.sources import parse_sources
    from storage.archive import Archive, FrontierEntry

    redis = RedisServer(tmp_path).start()
    client = keys.connect(redis.url)
    db = str(tmp_path / "a.db")
    kept = [FrontierEntry("http://127.0.0.9/news/a9.html", "article"), FrontierEntry("http://127.0.0.9/p3", "listing")]
    with Archive(db) as archive:
        archive.keep_frontier("s", kept)
    sources = parse_sources("[source.s]\nstart_urls = ['http://127.0.0.9/news/']\narticles = ['a']\n")
    writer = Writer(client, db, sources)
    try:
        ask_crawl(client, ["s"])
        writer.start_crawls()
        seed = json.loads(client.lpop(keys.SEEDS))
        assert seed["resume"] == [[e.url, e.kind] for e in kept]
    finally:
        writer.close()
        client.close()
        redis.stop()


# --- one crawl of a source at a time on the cluster ---


@pytest.mark.parametrize(
    ("open_runs", "names", "busy"),
    [
        ({}, ["s"], {}),
        ({1: ["s", "t"]}, ["s"], {"s": 1}),
        ({1: ["s"], 2: ["t"]}, ["t", "u"], {"t": 2}),
        ({1: ["s"]}, ["t"], {}),
    ],
)
def test_crawled_now(open_runs: dict[int, list[str]], names: list[str], busy: dict[str, int]) -> None:
    from crawler.cluster.writer import crawled_now

    assert crawled_now(open_runs, names) == busy


@pytest.mark.slow  # ~13 s of CPU: a writer, two workers and three crawl commands, each its own process
def test_a_second_cluster_crawl_of_a_source_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    gate = Gate()
    gated = SiteServer("127.0.0.82", {"/news/": links("/news/a1.html"), "/news/a1.html": gate.route(article_html(1))})
    other = SiteServer("127.0.0.83", {"/news/": links("/news/a2.html"), "/news/a2.html": Reply(article_html(2))})
    sites = {"s": gated.start(), "t": other.start()}
    web = Cluster(tmp_path, sites, source("s", sites["s"]) + source("t", sites["t"]))
    web.start("writer", "worker1", "worker2")  # a worker busy with a page takes no new crawl: the other takes t
    crawl_cmd = [sys.executable, "-m", "crawler", "--db", str(web.db), "--sources", str(tmp_path / "sources.toml")]
    crawl_cmd += ["crawl", "--json", "s"]
    first = subprocess.Popen(crawl_cmd, stdout=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        assert gate.entered.wait(180), "the first crawl never reached its article"
        second = cli(tmp_path, web.db, "crawl", "--json", "s")
        assert second.code == 1
        assert "source 's' is being crawled now by cluster run 1" in second.err
        assert "Traceback" not in second.err
        assert cli(tmp_path, web.db, "crawl", "--json", "t").code == 0  # another source is crawled alongside
        gate.opened.set()
        out, _ = first.communicate(timeout=180)
        assert first.returncode == 0 and json.loads(out)["new_documents"] == 1
        runs = rows(web.db, "select sources, status from runs order by id")
        assert runs == [('["s"]', "ok"), ('["t"]', "ok")]  # the refused crawl recorded no run
    finally:
        gate.opened.set()
        if first.poll() is None:
            first.kill()
        web.close()


# --- a scheduled cluster run past its source's timeout is cancelled in the cluster and recorded failed ---


TIMEOUT = "10s"


@pytest.mark.slow  # ~15 s of CPU: a writer, a worker and the daemon, each its own process, for the timeout
def test_a_scheduled_cluster_run_past_its_timeout_is_cancelled(tmp_path: Path) -> None:
    from crawler.cluster import codec, keys

    gate = Gate()
    count = 24  # more than a worker takes at once (16): some wait in the queue when the run is cancelled
    routes: dict[str, Route] = {f"/news/a{n}.html": gate.route(article_html(n)) for n in range(count)}
    routes["/news/"] = links(*(f"/news/a{n}.html" for n in range(count)))
    server = SiteServer("127.0.0.84", routes).start()
    # long enough for the run to reach its articles on a loaded machine: the test takes this long
    web = Cluster(tmp_path, {"s": server}, source("s", server, f'every = "1h"\ntimeout = "{TIMEOUT}"'))
    web.start("writer", "worker")
    client = web.client()
    log = Path(f"{web.db}.scheduler.log")

    def logged() -> list[dict[str, Any]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [r for r in (json.loads(ln[ln.index("{") :]) for ln in lines if "{" in ln) if "outcome" in r]

    try:
        wait_until(lambda: bool(web.beats()), "the worker's heartbeat")
        cmd = [sys.executable, str(TESTS.parent / "scheduler.py"), "--db", str(web.db)]
        with open(tmp_path / "daemon.log", "wb") as out:
            cmd += ["--sources", str(tmp_path / "sources.toml")]
            web.procs["daemon"] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env())
        assert gate.entered.wait(180), "the crawl never reached an article"
        wait_until(lambda: bool(logged()), "the daemon's line for the run")
        (line,) = logged()
        assert line["outcome"] == "failed" and line["run_id"] == 1
        assert line["reason"] == f"timed out after {TIMEOUT}; cancelled in the cluster"
        (status, stopped), *_ = rows(web.db, "select status, stopped from runs")
        assert status == "failed" and json.loads(stopped) == {"s": f"cancelled: timed out after {TIMEOUT}"}
        assert not client.hlen(keys.RUNS)  # the run is not open in the cluster any more
        queued = [codec.loads(d) for d in client.zrange(keys.QUEUE, 0, -1)]
        assert not [q for q in queued if q.get("meta", {}).get("run_id") == 1]  # its queue dropped
        dropped = re.search(r"(\d+) queued requests dropped", (tmp_path / "writer.log").read_text())
        assert dropped and int(dropped[1]) > 0
        gate.opened.set()  # the article in flight is answered; nothing of the run is fetched after it
        wait_until(lambda: all(b["busy"] == 0 for b in web.beats()), "the worker to let go of the run")
        first = max(b["at"] for b in web.beats())
        wait_until(lambda: max(b["at"] for b in web.beats()) > first + 2, "two more heartbeats")
        articles = [p for p in server.hits if p.startswith("/news/a")]
        assert len(articles) == 1, articles  # the one in flight when it was cancelled, and no other
        assert client.zcard(keys.QUEUE) == 0
        wait_until(lambda: not client.llen(keys.RESULTS) + client.llen(keys.WRITING), "the writer to take all")
        assert "not open here" not in (tmp_path / "writer.log").read_text()  # the worker sent nothing of the run
    finally:
        gate.opened.set()
        web.close()
