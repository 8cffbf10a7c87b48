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

DELAY = 0.5  # each site's delay: two workers together must keep their requests this far apart
JITTER = 0.15  # a request sent on time can reach a loaded machine's server this much late, the next one on time


def cli(tmp: Path, db: Path, *args: str, timeout: float = 180) -> CLIResult:
    """Run `readouts` with the test's sources file."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp / "sources.toml"), *args]
    return CLIResult(subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=subprocess_env()))


def daemon(tmp: Path, db: Path, command: str, log: str, *args: str) -> subprocess.Popen[bytes]:
    """Start `readouts worker` or `readouts writer` (with its options) in the background, its output in a log file."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp / "sources.toml"), command, *args]
    with open(tmp / log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env())


def writer_and_workers(tmp: Path, db: Path, workers: int = 2) -> list[subprocess.Popen[bytes]]:
    """Start a writer and workers in the background (logs writer.log, worker1.log, …)."""
    procs = [daemon(tmp, db, "writer", "writer.log")]
    return procs + [daemon(tmp, db, "worker", f"worker{i}.log") for i in range(1, workers + 1)]


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
    # A request stamped late by a loaded server shortens the gap after it by as much as it lengthens the gap before
    # it, so each pair of consecutive gaps is held to twice the delay (a loaded run saw gaps of 1.09 s then 0.07 s);
    # a late stamp also shortens the one pair that starts at it (1.55 s then 0.14 s seen), so one pair may fall short.
    # Two workers each keeping the delay alone would send in pairs: every pair of gaps would add up to one delay.
    for name, server in cluster.servers.items():
        times = sorted(t for path, t in server.times if path != "/robots.txt")
        gaps = [b - a for a, b in itertools.pairwise(times)]
        shown = (name, [round(g, 3) for g in gaps])
        short = [a + b for a, b in itertools.pairwise(gaps) if a + b < 2 * DELAY - JITTER]
        assert len(gaps) >= 5 and len(short) <= 1, shown


def test_archive_identical_to_a_single_machine_crawl(cluster: Cluster) -> None:
    # a document's title and date are its first copy's: which site's copy comes first is a race, as on one machine
    sql = "select content_hash, text from documents order by content_hash"
    assert rows(cluster.db, sql) == rows(cluster.local_db, sql)
    pages = "select url, content_hash, error from pages order by url"
    assert rows(cluster.db, pages) == rows(cluster.local_db, pages)
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


def wait_until(check: Any, what: str, timeout: float = 180) -> None:
    """Wait for an event seen from the test process (a request logged by a fixture site)."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def crawl_with_a_fault(tmp: Path, fault: str) -> tuple[CLIResult, Path, dict[str, SiteServer]]:
    """Crawl the fixture web with a writer and two workers, provoking a fault once a few pages were asked."""
    redis = RedisServer(tmp).start()
    servers = start_sites()
    sources = sources_toml(servers).replace("delay = 0", f"delay = {DELAY}")
    write_sources(tmp / "sources.toml", f'[cluster]\nredis = "{redis.url}"\n\n{sources}')
    db = tmp / "cluster.db"
    procs = [daemon(tmp, db, "writer", "writer.log")] + [daemon(tmp, db, "worker", f"w{i}.log") for i in (1, 2)]
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp / "sources.toml"), "crawl", "--json"]
    crawl = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        wait_until(lambda: sum(len(s.hits) for s in servers.values()) >= 8, "the crawl to be under way")
        if fault == "kill":
            procs[1].kill()  # SIGKILL: whatever it held is in its in-flight set
        else:
            redis.stop()
            redis.start()
        out, err = crawl.communicate(timeout=110)
        return CLIResult(subprocess.CompletedProcess(cmd, crawl.returncode, out, err)), db, servers
    finally:
        crawl.kill()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        for server in servers.values():
            server.stop()
        redis.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["kill", "redis-restart"])
def test_the_crawl_completes_despite(tmp_path: Path, fault: str) -> None:
    result, db, servers = crawl_with_a_fault(tmp_path, fault)
    assert result.code == 0, (result.err, (tmp_path / "writer.log").read_text()[-2000:])
    assert result.json()["status"] == "ok"
    urls = {r[0] for r in rows(db, "select url from pages where content_hash is not null")}
    assert urls == {servers[a.site].url(a.path) for a in all_articles()}


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = RedisServer(tmp_path).start()
    yield server.url
    server.stop()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Any]:
    from crawler.cluster import keys

    client = keys.connect(redis_url)
    yield client
    client.close()


def agency_result() -> tuple[Any, str, dict[str, Any]]:
    """One fixture agency article as a worker hands it to the writer: the sources, its URL and the result's fields."""
    from crawler.config.sources import parse_sources
    from tests.fixtureweb import sites

    sources = parse_sources("[source.agency]\nstart_urls = ['http://127.0.0.9/news/']\narticles = ['/c_']\n")
    article = sites.articles("agency")[0]
    url = f"http://127.0.0.9{article.path}"
    item = {"url": url, "final_url": url, "source": "agency", "status": 200, "error": None, "recheck": False}
    item |= {"body": sites.render_article("agency", article), "content_type": "text/html; charset=utf-8"}
    return sources, url, item


def test_a_result_delivered_twice_is_recorded_once(tmp_path: Path, redis: Any) -> None:
    import asyncio

    from crawler.cluster import codec, keys
    from crawler.cluster.ask import ask_crawl
    from crawler.cluster.writer import Writer

    sources, url, item = agency_result()

    async def deliver_twice() -> Writer:
        writer = Writer(redis, str(tmp_path / "a.db"), sources)
        ask_crawl(redis, ["agency"])
        writer.start_crawls()
        run_id = next(iter(writer.runs))
        raw = codec.dumps({**item, "run_id": run_id, "result_id": "r1"})
        for _ in range(2):
            redis.lpush(keys.WRITING, raw)
            await writer.record(raw)
        for run in list(writer.runs.values()):
            await writer._finish(run)
        return writer

    writer = asyncio.run(deliver_twice())
    writer.close()
    assert writer.recorded == 1
    assert rows(tmp_path / "a.db", "select pages_fetched from runs") == [(1,)]
    assert rows(tmp_path / "a.db", "select url from pages") == [(url,)]
    assert redis.llen(keys.WRITING) == 0


@pytest.mark.parametrize(
    "value",
    [
        {"body": b"\x00\xff\x1f\x8b", "n": 1, "none": None},
        {b"If-None-Match": [b'"x"'], "meta": {"readouts_wire": (b"gz", [("Content-Encoding", "gzip")])}},
        {"__b64__": "not bytes", "x": 1},  # a tag-like key among others stays a plain dict
    ],
)
def test_codec_round_trip(value: dict[Any, Any]) -> None:
    from crawler.cluster import codec

    def plain(v: Any) -> Any:  # tuples travel as lists
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return [plain(x) for x in v] if isinstance(v, list | tuple) else v

    assert codec.loads(codec.dumps(value)) == plain(value)


def test_codec_refuses_what_json_cannot_say() -> None:
    from crawler.cluster import codec

    with pytest.raises(TypeError):
        codec.dumps({"x": object()})


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[cluster]\nredis = "http://127.0.0.1:6379"\n', "redis"),
        ('[cluster]\nredis = "redis://"\n', "redis"),
        ('[cluster]\nredis = "redis://127.0.0.1:99999/0"\n', "redis"),
        ("[cluster]\nredis = 6379\n", "redis"),
        ('[cluster]\nredis = "redis://127.0.0.1"\nhost = "x"\n', "host"),
        ('cluster = "redis://127.0.0.1"\n', "cluster"),
    ],
)
def test_bad_cluster_table_is_refused_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    from crawler.config.sources import parse_sources
    from crawler.errors import ConfigError

    text = toml + "[source.a]\nstart_urls = ['http://127.0.0.9/']\narticles = ['/a/']\n"
    with pytest.raises(ConfigError) as caught:
        parse_sources(text)
    assert caught.value.key == key
    write_sources(tmp_path / "sources.toml", text)
    result = cli(tmp_path, tmp_path / "a.db", "crawl")
    assert result.code == 2 and f"'{key}'" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "a.db").exists()


def test_good_cluster_url_is_read() -> None:
    from crawler.config.sources import cluster_redis

    assert cluster_redis({"redis": "redis://10.0.0.5:6379/2"}) == "redis://10.0.0.5:6379/2"
    assert cluster_redis({}) is None


def test_bad_redis_option_is_refused(tmp_path: Path) -> None:
    write_sources(tmp_path / "sources.toml", "[source.a]\nstart_urls = ['http://127.0.0.9/']\narticles = ['/a/']\n")
    result = cli(tmp_path, tmp_path / "a.db", "worker", "--redis", "localhost:6379")
    assert result.code == 2 and "--redis" in result.err and "Traceback" not in result.err


def test_one_machine_never_imports_the_cluster() -> None:
    # nor the redis package (datasketch imported it when installed; its MinHash is now computed without datasketch)
    code = (
        "import sys, crawler.cli.main, crawler.run, scheduler, crawler.extraction.article\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy_redis', 'redis', 'scipy', 'datasketch')"
        " or m.startswith('crawler.cluster')"
        " or m.startswith('spiders.cluster')]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert proc.returncode == 0, proc.stderr


def test_an_article_is_claimed_by_one_worker_only(redis: Any) -> None:
    from crawler.cluster import keys
    from crawler.cluster.once import Claims
    from crawler.config.sources import parse_sources
    from spiders.cluster_spider import ClusterSourceSpider, RedisMembers

    source = parse_sources("[source.a]\nstart_urls = ['http://127.0.0.9/news/']\narticles = ['/c_']\n")["a"]
    redis.sadd(keys.known_urls("a"), "http://127.0.0.9/c_1.htm")
    workers = []
    for _ in range(2):  # two workers' spiders of the same source and run
        spider = ClusterSourceSpider.for_source(source, RedisMembers(redis, keys.known_urls("a")), {})()
        spider.redis, spider.claims_key = redis, keys.seen_articles(7)  # type: ignore[attr-defined]
        spider.claims = Claims(redis)  # type: ignore[attr-defined]
        workers.append(spider)
    first = workers[0]._article_request("http://127.0.0.9/c_2.htm?utm_source=x")
    assert first is not None and first.url == "http://127.0.0.9/c_2.htm"
    assert workers[1]._article_request("http://127.0.0.9/c_2.htm") is None  # claimed by the first
    assert workers[1]._article_request("http://127.0.0.9/c_3.htm") is not None
    assert workers[0]._article_request("http://127.0.0.9/c_1.htm") is None  # archived already
    assert set(redis.hkeys(keys.seen_articles(7))) == {b"http://127.0.0.9/c_2.htm", b"http://127.0.0.9/c_3.htm"}


def test_a_listing_read_again_after_its_worker_died_requests_its_articles_again(redis: Any) -> None:
    # the worker that read the listing claimed its articles and died before their requests reached the frontier:
    # whoever reads that listing again must get them (a loaded run lost an article this way), no other page may
    from crawler.cluster import keys
    from crawler.cluster.frontier import CLAIM_META
    from crawler.cluster.once import Claims
    from crawler.config.sources import parse_sources
    from spiders.cluster_spider import ClusterSourceSpider, RedisMembers

    source = parse_sources("[source.a]\nstart_urls = ['http://127.0.0.9/news/']\narticles = ['/c_']\n")["a"]
    spiders = []
    for _ in range(2):
        spider = ClusterSourceSpider.for_source(source, RedisMembers(redis, keys.known_urls("a")), {})()
        spider.redis, spider.claims_key = redis, keys.seen_articles(8)  # type: ignore[attr-defined]
        spider.claims = Claims(redis)  # type: ignore[attr-defined]
        spiders.append(spider)
    dead, alive = spiders
    listing, other = "http://127.0.0.9/news/", "http://127.0.0.9/news/2.htm"
    claimed = dead._article_request("http://127.0.0.9/c_5.htm", listing)
    assert claimed is not None  # ... and its worker was killed here
    again = alive._article_request("http://127.0.0.9/c_5.htm", listing)
    assert again is not None and again.meta[CLAIM_META] == claimed.meta[CLAIM_META]  # its fingerprint's claim too
    assert alive._article_request("http://127.0.0.9/c_5.htm", other) is None  # linked elsewhere too: one request
