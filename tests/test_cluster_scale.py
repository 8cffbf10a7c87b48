"""Cluster mode, the rest of it: the scheduler daemon on the cluster, crawl bounds for the cluster as a whole, a
source's concurrency across workers, robots.txt once per cluster, back-pressure when the writer stops, extraction
in the workers. Real redis-server, real worker, writer and daemon processes, the fixture web on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TESTS, subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, Route, SiteServer, slow
from tests.redis_server import RedisServer
from tests.test_cluster import agency_result, cli, daemon, rows, wait_until, writer_and_workers
from tests.test_crawl import HOSTS, all_articles, sources_toml, start_sites
from tests.test_kill import article_html
from tests.test_throttle import InFlight

DELAY = 0.2


class Web:
    """The fixture web, a Redis server, and the writer and worker processes started on them."""

    def __init__(self, tmp: Path, every: str = "", delay: float = DELAY) -> None:
        self.tmp, self.db = tmp, tmp / "cluster.db"
        self.redis = RedisServer(tmp).start()
        self.servers: dict[str, SiteServer] = start_sites()
        sources = sources_toml(self.servers).replace("delay = 0", f"delay = {delay}{every}")
        write_sources(tmp / "sources.toml", f'[cluster]\nredis = "{self.redis.url}"\n\n{sources}')
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.robots: dict[str, int] = {}  # robots.txt requests per site, for tests that count them

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start `readouts writer` or `readouts worker` (name: its log file's stem)."""
        command = "writer" if name.startswith("writer") else "worker"
        self.procs[name] = daemon(self.tmp, self.db, command, f"{name}.log", *args)
        return self.procs[name]

    def client(self) -> Any:
        from crawler.cluster import keys

        return keys.connect(self.redis.url)

    def hits(self, name: str) -> list[str]:
        return [p for p in self.servers[name].hits if p != "/robots.txt"]

    def close(self) -> None:
        stop_all(self.procs.values(), self.servers.values(), self.redis)


def stop_all(procs: Iterable[subprocess.Popen[Any]], servers: Iterable[SiteServer], redis: RedisServer) -> None:
    """Stop the processes (SIGTERM, then wait for each), the sites and Redis."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(timeout=60)
    for server in servers:
        server.stop()
    redis.stop()


# --- the scheduler daemon enqueues into the cluster ---


def daemon_log(web: Web) -> list[dict[str, Any]]:
    """Return the JSON records the daemon logged (runs, its writer's starts and exits)."""
    log = Path(f"{web.db}.scheduler.log")
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line[line.index("{") :]) for line in lines if "{" in line]


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, list[dict[str, Any]]]]:
    """The daemon on the cluster (its own writer, two workers); its writer SIGKILLed once the crawls are under way."""
    web = Web(tmp_path_factory.mktemp("scheduled"), every='\nevery = "1h"')
    web.start("worker1")
    web.start("worker2")
    cmd = [sys.executable, str(TESTS.parent / "scheduler.py"), "--db", str(web.db)]
    cmd += ["--sources", str(web.tmp / "sources.toml")]
    with open(web.tmp / "daemon.log", "wb") as out:
        web.procs["daemon"] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env())

    def logged() -> list[dict[str, Any]]:
        return [r for r in daemon_log(web) if "outcome" in r]

    try:
        wait_until(lambda: sum(len(web.hits(name)) for name in HOSTS) >= 8, "the scheduled crawls to be under way")
        writer = next(r["pid"] for r in daemon_log(web) if r.get("event") == "writer started")
        os.kill(writer, signal.SIGKILL)
        wait_until(lambda: len(logged()) >= len(HOSTS), "a logged run per source", timeout=150)
        yield web, logged()
    finally:
        web.close()


def test_the_daemon_runs_each_source_on_the_cluster_as_its_own_run(scheduled: tuple[Web, list[Any]]) -> None:
    web, logged = scheduled
    assert sorted(r["source"] for r in logged) == sorted(HOSTS)
    assert all(r["outcome"] == "ok" for r in logged), logged
    runs = rows(web.db, "select id, sources, trigger, status, pages_fetched from runs order by id")
    assert len(runs) == len(HOSTS)
    by_source = {json.loads(r[1])[0]: r for r in runs}
    for name in HOSTS:
        run_id, _sources, trigger, status, fetched = by_source[name]
        assert (trigger, status) == ("scheduled", "ok")
        assert fetched == len(sites.articles(name))  # every worker's pages of this source, and no other's
        assert {r["run_id"]: r["pages_fetched"] for r in logged if r["source"] == name} == {run_id: fetched}


def test_the_daemon_keeps_its_writer_running_and_starts_no_local_crawl(scheduled: tuple[Web, list[Any]]) -> None:
    web, _ = scheduled
    events = daemon_log(web)
    started = [r["pid"] for r in events if r.get("event") == "writer started"]
    exited = [(r["pid"], r["code"]) for r in events if r.get("event") == "writer exited"]
    assert len(started) == 2 and exited == [(started[0], -signal.SIGKILL)]  # killed, and another took over
    runs = {pid for (pid,) in rows(web.db, "select pid from runs")}
    assert runs and runs <= set(started)  # every run is a writer's, none a crawl subprocess's


def test_every_article_archived_once_by_the_scheduled_cluster(scheduled: tuple[Web, list[Any]]) -> None:
    web, _ = scheduled
    urls = [r[0] for r in rows(web.db, "select url from pages where content_hash is not null")]
    assert len(urls) == len(set(urls)) == len(all_articles())
    for name in HOSTS:
        assert len(web.hits(name)) == len(set(web.hits(name))), name


# --- crawl --redis honours --max-pages, --full and --recheck for the cluster as a whole; robots.txt once ---


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, list[Any]]]:
    """Three crawls: the first by one worker, the next two by another started after the first one stopped."""
    web = Web(tmp_path_factory.mktemp("bounded"))
    web.start("writer")
    web.start("worker1")
    try:
        crawls: list[Any] = []
        web.robots = {name: 0 for name in HOSTS}
        for flags in (["--max-pages", "2"], ["--full"], ["--recheck"]):
            for name, server in web.servers.items():
                web.robots[name] += server.hits.count("/robots.txt")
                server.hits.clear()
            result = cli(web.tmp, web.db, "crawl", "--json", *flags)
            assert result.code == 0, result.err
            crawls.append((result.json(), {name: list(web.hits(name)) for name in HOSTS}))
            if "worker2" not in web.procs:  # the next crawls are another process's, with nothing in its memory
                web.procs["worker1"].terminate()
                web.procs["worker1"].wait(timeout=60)
                web.start("worker2")
        for name, server in web.servers.items():
            web.robots[name] += server.hits.count("/robots.txt")
        yield web, crawls
    finally:
        web.close()


def test_max_pages_bounds_each_source_across_the_cluster(bounded: tuple[Web, list[Any]]) -> None:
    _web, crawls = bounded
    outcome, hits = crawls[0]
    # the rule of one machine (spiders.bounds): the start page counts, then articles while under the bound
    assert outcome["pages_fetched"] == 2 * len(HOSTS)
    for name in HOSTS:
        articles = [p for p in hits[name] if p not in sites.listing_paths(name)]
        assert len(articles) == 2, (name, hits[name])


def test_full_walks_every_listing_page_on_the_cluster(bounded: tuple[Web, list[Any]]) -> None:
    web, crawls = bounded
    outcome, hits = crawls[1]
    for name in HOSTS:
        assert set(sites.listing_paths(name)) <= set(hits[name]), name  # no stop at a page of known articles
    assert outcome["new_pages"] == len(all_articles()) - 2 * len(HOSTS)
    urls = {r[0] for r in rows(web.db, "select url from pages where content_hash is not null")}
    assert urls == {web.servers[a.site].url(a.path) for a in all_articles()}


def test_recheck_rechecks_every_known_page_on_the_cluster(bounded: tuple[Web, list[Any]]) -> None:
    _web, crawls = bounded
    outcome, _hits = crawls[2]
    assert outcome["rechecked"] == len(all_articles())  # none was due yet: --recheck asked for every one
    assert outcome["new_pages"] == 0


def test_robots_txt_fetched_once_per_cluster(bounded: tuple[Web, list[Any]]) -> None:
    web, _ = bounded
    from crawler.cluster import keys

    client = web.client()
    for name, server in web.servers.items():
        assert web.robots[name] == 1, name  # two workers, three crawls: one fetch
        netloc = server.base.removeprefix("http://")
        assert 0 < client.ttl(keys.robots(netloc)) <= 86400  # kept for the cluster, and not for ever


# --- a source's concurrency across workers ---


def test_a_source_concurrency_bounds_all_workers_together(tmp_path: Path) -> None:
    flight = InFlight(2)
    count = 10
    routes: dict[str, Route] = {f"/news/{n}.html": flight.route(slow(article_html(n), 0.3)) for n in range(count)}
    for n in (100, 101):  # moved: a redirect made after the download must give its slot back too
        routes[f"/news/{n}.html"] = Reply(status=301, headers={"Location": f"/news/{n + 100}.html"})
        routes[f"/news/{n + 100}.html"] = flight.route(slow(article_html(n + 100), 0.3))
    links = "".join(f"<a href='/news/{n}.html'>x</a>" for n in [*range(count), 100, 101])
    server = SiteServer("127.0.0.73", {**routes, "/news/": Reply(links.encode())}).start()
    redis = RedisServer(tmp_path).start()
    source = f"[source.s]\nstart_urls = ['{server.url('/news/')}']\narticles = ['/news/\\d+\\.html$']\n"
    write_sources(
        tmp_path / "sources.toml", f'[cluster]\nredis = "{redis.url}"\n\n{source}delay = 0\nconcurrency = 2\n'
    )
    db = tmp_path / "cluster.db"
    procs = writer_and_workers(tmp_path, db)
    try:
        result = cli(tmp_path, db, "crawl", "--json")
        assert result.code == 0, result.err
        assert result.json()["new_documents"] == count + 2
        assert flight.peak == 2  # two at once (the bound is used), never three, from two workers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        server.stop()
        redis.stop()


# --- the writer stopped: workers hold their results (bounded) and take no new work, then resume ---


def beats(client: Any) -> list[dict[str, Any]]:
    from crawler.cluster import keys

    return [json.loads(v) for v in client.hvals(keys.WORKERS)]


@pytest.mark.slow
def test_a_stopped_writer_holds_the_workers_back_until_it_is_back(tmp_path: Path) -> None:
    from crawler.cluster import codec, keys
    from crawler.cluster.frontier import inflight_key

    web = Web(tmp_path, delay=1.0)  # slow enough that the worker is far from done when it must hold
    web.start("writer")
    web.start("worker1", "--max-waiting", "2")
    client = web.client()
    crawl_cmd = [sys.executable, "-m", "crawler", "--db", str(web.db), "--sources", str(tmp_path / "sources.toml")]
    crawl = subprocess.Popen(
        [*crawl_cmd, "crawl", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env()
    )
    fetched: Callable[[], int] = lambda: sum(len(web.hits(n)) for n in HOSTS)  # noqa: E731
    try:
        # under way, and past the worker's first extraction (its pool's start): a slow start on a loaded machine let
        # the worker fetch the whole site before its first result, leaving no work to hold back
        recorded = lambda: json.loads(client.get(keys.WRITER) or "{}").get("recorded", 0)  # noqa: E731
        wait_until(lambda: fetched() >= 3 and recorded() >= 1, "the crawl to be under way, a result recorded")
        # frozen at once: during a graceful stop, an idle run's worker once finished the whole crawl
        web.procs["writer"].send_signal(signal.SIGSTOP)
        wait_until(lambda: any(b.get("holding") for b in beats(client)), "the worker to hold a result", 90)
        assert client.llen(keys.RESULTS) <= 2  # the bound
        held = fetched()
        (worker,) = client.hkeys(keys.WORKERS)
        taken = client.hlen(inflight_key(worker.decode()))  # requests it took already (some wait for their delay)
        first = max(b["at"] for b in beats(client))
        wait_until(lambda: max(b["at"] for b in beats(client)) > first + 3, "three more heartbeats")
        assert fetched() <= held + taken  # it took no new work
        assert fetched() < len(all_articles()) + 8  # far from done: it stopped taking work
        # what waits for the writer was extracted by the worker
        waiting = [codec.loads(raw) for raw in client.lrange(keys.RESULTS, 0, -1)]
        articles = [r for r in waiting if not r.get("listing") and r.get("status") == 200]
        assert all(r["extraction"]["kind"] == "extracted" and r["extraction"]["lines"] for r in articles)
        web.procs["writer"].kill()  # the frozen writer's lease is taken at once once it is gone
        web.procs["writer"].wait(timeout=60)
        web.start("writer2")
        out, err = crawl.communicate(timeout=150)
        assert crawl.returncode == 0, err
        assert json.loads(out)["status"] == "ok"
        urls = [r[0] for r in rows(web.db, "select url from pages where content_hash is not null")]
        assert sorted(urls) == sorted(web.servers[a.site].url(a.path) for a in all_articles())
        assert not any(b.get("holding") for b in beats(client))
    finally:
        crawl.kill()
        web.procs["writer"].kill()  # frozen, it would not answer close()'s SIGTERM
        web.close()


# --- pieces, in process ---


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Any]:
    from crawler.cluster import keys

    server = RedisServer(tmp_path).start()
    client = keys.connect(server.url)
    yield client
    client.close()
    server.stop()


def test_two_workers_budgets_share_one_bound(redis: Any) -> None:
    from crawler.cluster.budget import RedisBudget
    from spiders.bounds import ARTICLE, LISTING

    one, two = (RedisBudget(redis, "readouts:run:1:budget:s", 3) for _ in range(2))
    one.spend(LISTING)  # the start page: always read, and counted
    taken = [budget.take(ARTICLE) for budget in (one, two, one, two, one)]
    assert taken == [True, True, True, False, False]  # three articles for the cluster, not three each
    assert not two.allows(LISTING) and not one.take(LISTING)  # 1 + 3 is not under 3


@pytest.mark.parametrize(
    ("parent", "max_depth", "beyond"),
    [(0, 1, False), (1, 1, True), (99, 100, False), (100, 100, True), (500, 0, False)],
)
def test_beyond_depth(parent: int, max_depth: int, beyond: bool) -> None:
    from spiders.bounds import beyond_depth

    assert beyond_depth(parent, max_depth) is beyond


def test_site_slots_bound_holders_and_expire(redis: Any) -> None:
    from crawler.cluster import keys
    from spiders.cluster_middlewares import RENEW_SLOT, TAKE_SLOT

    take = redis.register_script(TAKE_SLOT)
    key = keys.site_slots("h")
    assert take(keys=[key], args=[2, 60_000, "a"]) == 1
    assert take(keys=[key], args=[2, 60_000, "b"]) == 1
    assert take(keys=[key], args=[2, 60_000, "c"]) == 0  # two held: the third waits
    redis.zadd(key, {"b": 1})  # b died and its lease ran out (set, not waited for: no race under load)
    assert take(keys=[key], args=[2, 60_000, "c"]) == 1
    assert take(keys=[key], args=[2, 60_000, "d"]) == 0
    redis.zrem(key, "a")  # given back
    assert take(keys=[key], args=[2, 60_000, "d"]) == 1
    renew = redis.register_script(RENEW_SLOT)
    before = redis.zscore(key, "d")
    assert renew(keys=[key], args=[120_000, "d"]) == 1 and redis.zscore(key, "d") > before  # held on
    assert renew(keys=[key], args=[120_000, "a"]) == 0 and redis.zscore(key, "a") is None  # a slot given back stays so


def test_the_writer_records_the_workers_extraction(tmp_path: Path, redis: Any) -> None:
    import asyncio

    from crawler.cluster import codec, keys
    from crawler.cluster.ask import ask_crawl
    from crawler.cluster.writer import Writer
    from crawler.extraction.extract import Extracted

    sources, _url, item = agency_result()
    lines = ("What the worker extracted, and nothing the writer would find in the body itself.",)
    extracted = Extracted(title="A title", lines=lines, published="2024-03-05")

    async def deliver() -> None:
        writer = Writer(redis, str(tmp_path / "a.db"), sources)
        try:
            ask_crawl(redis, ["agency"])
            writer.start_crawls()
            run_id = next(iter(writer.runs))
            record = {**item, "run_id": run_id, "result_id": "r1", "extraction": codec.extraction_record(extracted)}
            raw = codec.dumps(record)
            redis.lpush(keys.WRITING, raw)
            await writer.record(raw)
            for run in list(writer.runs.values()):
                await writer._finish(run)
        finally:
            writer.close()

    asyncio.run(deliver())
    assert rows(tmp_path / "a.db", "select text from documents") == [(lines[0],)]


@pytest.mark.parametrize(
    "result",
    ["extracted", "failure", "lines"],
)
def test_extraction_round_trip(result: str) -> None:
    from crawler.cluster import codec
    from crawler.extraction.extract import Extracted, Failure

    made = {
        "extracted": Extracted(title="t", lines=("a", "b"), published="2024-01-02", language="en"),
        "failure": Failure("not-html (pdf)"),
        "lines": ("menu", "footer"),
    }[result]
    assert codec.extraction_of(codec.loads(codec.dumps(codec.extraction_record(made)))) == made


def test_a_run_is_drained_only_when_none_of_its_work_is_left(redis: Any) -> None:
    from scrapy import Request

    from crawler.cluster import codec, keys
    from crawler.cluster.drain import outstanding
    from crawler.cluster.frontier import inflight_key

    def request(run_id: int) -> bytes:
        return codec.dumps(Request(f"http://127.0.0.9/{run_id}", meta={"source": "s", "run_id": run_id}).to_dict())

    now = 1_000_000.0
    redis.rpush(keys.SEEDS, json.dumps({"run_id": 1, "source": "s", "due": []}))  # run 1: a seed not taken
    redis.rpush(keys.seeds_taken("w1"), json.dumps({"run_id": 7, "source": "s", "due": []}))  # 7: taken, not started
    redis.zadd(keys.QUEUE, {request(2): 0})  # run 2: a request queued
    redis.hset(inflight_key("w1"), "t", codec.dumps({"score": 0, "data": request(3)}))  # run 3: one in flight
    beat = {"at": now - 1, "busy": 1, "runs": {"4": 1}}  # run 4: a response in a live worker's callbacks
    redis.hset(keys.WORKERS, "w1", json.dumps(beat))
    redis.sadd(keys.waiting(5), "r1")  # run 5: a result the writer has not recorded
    left = outstanding(redis, now, [1, 2, 3, 4, 5, 6, 7])
    assert [run for run in range(1, 8) if left.drained(run)] == [6]  # run 6: nothing left, whatever the others hold
    redis.hset(keys.WORKERS, "w1", json.dumps({**beat, "at": now - keys.ALIVE_S}))  # no live worker to say so
    assert not outstanding(redis, now, [6]).drained(6)
