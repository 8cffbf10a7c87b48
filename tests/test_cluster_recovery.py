"""Cluster recovery: a command Redis ran whose reply was lost, and a writer that stops with pages held back.

Real redis-server; the lost reply is made by a loopback proxy that cuts the connection before the reply.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import RedisServer, ReplyDropper
from tests.test_cluster import agency_result, rows


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    redis_server = RedisServer(tmp_path).start()
    yield redis_server
    redis_server.stop()


def test_a_claim_whose_reply_was_lost_stays_claimed(server: RedisServer) -> None:
    from crawler.cluster import keys
    from crawler.cluster.once import Claims

    direct = keys.connect(server.url)
    dropper = ReplyDropper(server.port, b"http://127.0.0.9/c_2.htm")
    try:
        via = keys.connect(dropper.url)
        claims = Claims(via)
        assert claims.claim("readouts:run:1:article-claims", "http://127.0.0.9/c_1.htm")  # the script is loaded
        # Redis runs the claim, its reply is lost, the client sends it again: still this call's claim
        assert claims.claim("readouts:run:1:article-claims", "http://127.0.0.9/c_2.htm")
        assert dropper.dropped == 1
        assert not Claims(direct).claim("readouts:run:1:article-claims", "http://127.0.0.9/c_2.htm")  # taken
    finally:
        dropper.close()


def agency_results(run_id: int) -> list[dict[str, Any]]:
    """Three results of one run: a page that answered 404 (recorded at once) and two articles (held back for the
    site's template, which needs 4 pages)."""
    from tests.fixtureweb import sites

    _sources, _url, item = agency_result()
    base = {**item, "run_id": run_id}
    missing = {**base, "url": "http://127.0.0.9/c_gone.htm", "final_url": "http://127.0.0.9/c_gone.htm"}
    results = [{**missing, "status": 404, "body": b"", "result_id": "gone"}]
    for n, article in enumerate(sites.articles("agency")[:2]):
        url = f"http://127.0.0.9{article.path}"
        body = sites.render_article("agency", article)
        results.append({**base, "url": url, "final_url": url, "body": body, "result_id": f"a{n}"})
    return results


def test_a_writer_taking_over_loses_no_held_page_and_goes_on_counting(tmp_path: Path, redis: Any) -> None:
    from crawler.cluster import codec, keys
    from crawler.cluster.ask import ask_crawl
    from crawler.cluster.writer import Writer

    sources, _url, _item = agency_result()
    db = str(tmp_path / "a.db")

    async def first_writer() -> int:
        writer = Writer(redis, db, sources)
        try:
            ask_crawl(redis, ["agency"])
            writer.start_crawls()
            run_id = next(iter(writer.runs))
            gone, held, _later = agency_results(run_id)
            for result in (gone, held):
                redis.lpush(keys.RESULTS, codec.dumps(result))
                redis.sadd(keys.waiting(run_id), result["result_id"])
                raw = redis.lmove(keys.RESULTS, keys.WRITING, "RIGHT", "LEFT")
                await writer.record(raw)
            return run_id
        finally:
            writer.close()  # stopped: the article it holds back for the template is not archived

    async def second_writer(run_id: int) -> None:
        writer = Writer(redis, db, sources)
        try:
            writer._retake()
            writer._reopen()
            # the held article waits again: the run is not drained before it is recorded
            assert redis.smembers(keys.waiting(run_id)) == {b"a0"}
            redis.lpush(keys.RESULTS, codec.dumps(agency_results(run_id)[2]))
            while (raw := redis.lmove(keys.RESULTS, keys.WRITING, "RIGHT", "LEFT")) is not None:
                await writer.record(raw)
            await writer._finish(writer.runs[run_id])
        finally:
            writer.close()

    run_id = asyncio.run(first_writer())
    assert rows(tmp_path / "a.db", "select count(*) from pages where content_hash is not null") == [(0,)]
    assert redis.llen(keys.WRITING) == 1  # the held article: taken, not acknowledged
    asyncio.run(second_writer(run_id))
    articles = rows(tmp_path / "a.db", "select url from pages where content_hash is not null order by url")
    assert [url for (url,) in articles] == sorted(r["url"] for r in agency_results(run_id)[1:])
    # the first writer's counts carried on: three pages fetched once each, one of them a 404
    counts = "select pages_fetched, errors + failed, new_documents, new_pages from runs"
    assert rows(tmp_path / "a.db", counts) == [(3, 1, 2, 3)]
    assert redis.llen(keys.WRITING) == 0 and not redis.scard(keys.waiting(run_id))


@pytest.mark.parametrize(
    ("listing", "recheck", "fetched", "rechecked"),
    [(False, False, 4, 1), (False, True, 4, 0), (True, False, 5, 1), (True, True, 5, 1)],
)
def test_a_held_page_is_left_out_of_the_kept_tally(listing: bool, recheck: bool, fetched: int, rechecked: int) -> None:
    from crawler.cluster.tally import durable, tally_of
    from crawler.model import FetchedPage
    from spiders.pipeline import RunTally

    page = FetchedPage(url="u", final_url="u", source="s", status=200, listing=listing, recheck=recheck)
    kept = durable(RunTally(pages_fetched=5, rechecked=1, errors=2, stopped={"s": "x"}), [page])
    assert (tally_of(kept).pages_fetched, tally_of(kept).rechecked) == (fetched, rechecked)
    assert tally_of(kept).errors == 2 and tally_of(kept).stopped == {"s": "x"}
    assert tally_of(None) == RunTally()


@pytest.fixture
def redis(server: RedisServer) -> Iterator[Any]:
    from crawler.cluster import keys

    client = keys.connect(server.url)
    yield client
    client.close()


def test_a_request_taken_whose_reply_was_lost_is_crawled(server: RedisServer, redis: Any) -> None:
    from types import SimpleNamespace

    from scrapy import Request

    from crawler.cluster import codec, keys
    from crawler.cluster.frontier import ReliableQueue, inflight_key

    request = Request("http://127.0.0.9/c_1.htm", meta={"source": "agency", "run_id": 1})
    redis.zadd(keys.QUEUE, {codec.dumps(request.to_dict()): 0})
    dropper = ReplyDropper(server.port, b"readouts:inflight:")  # the EXEC that moves it to the in-flight set
    try:
        spider = SimpleNamespace(name="readouts", worker_id="w1", results_full=lambda: False)
        queue = ReliableQueue(keys.connect(dropper.url), spider, keys.QUEUE, codec)
        taken = queue.pop()
        assert dropper.dropped == 1
        assert taken is not None and taken.url == request.url  # not left behind in the in-flight set, unknown
        assert list(redis.hkeys(inflight_key("w1"))) == [taken.meta["readouts_inflight"].encode()]
    finally:
        dropper.close()


def test_a_result_left_in_the_writers_list_is_recorded(tmp_path: Path, redis: Any) -> None:
    from crawler.cluster import codec, keys
    from crawler.cluster.ask import ask_crawl
    from crawler.cluster.writer import Writer

    sources, _url, _item = agency_result()

    async def orphaned() -> None:
        writer = Writer(redis, str(tmp_path / "a.db"), sources)
        try:
            ask_crawl(redis, ["agency"])
            writer.start_crawls()
            run_id = next(iter(writer.runs))
            gone = agency_results(run_id)[0]
            # a move to the writer's list whose reply was lost: the result sits there, the writer never got it
            redis.lpush(keys.WRITING, codec.dumps(gone))
            redis.sadd(keys.waiting(run_id), gone["result_id"])
            await writer._orphans()
            await writer._finish(writer.runs[run_id])
        finally:
            writer.close()

    asyncio.run(orphaned())
    assert rows(tmp_path / "a.db", "select url, status from pages") == [("http://127.0.0.9/c_gone.htm", 404)]
    assert redis.llen(keys.WRITING) == 0


@pytest.mark.parametrize(
    ("holder", "dead"),
    [("vm:12", True), ("vm:13", False), ("other:12", False), ("vm:x", False), ("", False), ("a:b:vm:12", False)],
)
def test_a_dead_writer_lease_is_taken_over_only_on_its_own_host(holder: str, dead: bool) -> None:
    from crawler.cluster.writer import dead_holder

    assert dead_holder(holder, "vm", lambda pid: pid != 12) is dead


@pytest.mark.parametrize(
    ("ran_s", "quick_exits", "pause"),
    [(600.0, 0, 0.0), (10.0, 0, 0.0), (9.9, 1, 1.0), (1.0, 2, 2.0), (1.0, 3, 4.0), (1.0, 9, 30.0)],
)
def test_a_writer_that_keeps_failing_is_restarted_after_a_growing_pause(
    ran_s: float, quick_exits: int, pause: float
) -> None:
    from crawler.cluster.keeper import pause_after

    assert pause_after(ran_s, quick_exits) == pause


def test_a_second_writer_stands_by_until_the_first_stops(tmp_path: Path, redis: Any) -> None:
    from crawler.cluster import keys
    from crawler.cluster.writer import Writer

    sources, _url, _item = agency_result()
    redis.set(keys.WRITER_LEASE, "elsewhere:1", px=60_000)  # a live writer on another machine

    async def standby() -> tuple[bool, bool, bytes | None]:
        writer = Writer(redis, str(tmp_path / "a.db"), sources)
        try:
            stopped = asyncio.Event()
            stopped.set()  # asked to stop while standing by: it tried once, and did not take the lease
            while_held = await writer._lease(stopped)
            redis.delete(keys.WRITER_LEASE)  # that writer stopped: the lease is free
            once_free = await writer._lease(asyncio.Event())
            return while_held, once_free, redis.get(keys.WRITER_LEASE)
        finally:
            writer.close()

    while_held, once_free, holder = asyncio.run(standby())
    assert (while_held, once_free) == (False, True)
    assert holder is not None and holder.decode().endswith(f":{os.getpid()}")
    assert redis.get(keys.WRITER_LEASE) is None  # given up when it closed


def test_a_cut_crosses_redis_unchanged() -> None:
    from crawler.cluster import codec
    from crawler.model import ArticleText, Meeting
    from spiders.pipeline import Cut

    meeting = Meeting("talks", "2024-03-05", "Beijing", ("Xi Jinping", "Vladimir Putin"), "talks")
    article = ArticleText(
        "h", "text", "t", "2024-03-05", "en", signature=b"\x00\xff", bands=("b1", "b2"), meeting=meeting,
        document_kind="talks", announces=("2024-03-06", ("Xi Jinping",)),
    )  # fmt: skip
    for cut in (Cut(article, frozenset({"k1", "k2"}), 3), Cut(None, frozenset(), 0)):
        assert codec.cut_of(codec.loads(codec.dumps(codec.cut_record(cut)))) == cut


def test_a_footer_learned_mid_crawl_is_cut_from_every_stored_text(tmp_path: Path, server: RedisServer, serve) -> None:
    """Two worker processes cut each article with the template last published; the first pages, cut before the
    site's menu and share line were learned, are cut again by the writer; none keeps either line."""
    import subprocess
    import sys

    from crawler.cluster import keys
    from tests.conftest import subprocess_env, write_sources
    from tests.mockserver import Reply
    from tests.test_cluster import cli, wait_until, writer_and_workers
    from tests.test_cluster_runs import Gate
    from tests.test_template_learning import MENU, SHARE, _article, _listing

    count, gate = 9, Gate()  # articles 4… answer once the writer has published what it learned from 0…3
    small = serve("127.0.0.63", {"/news/": Reply(_listing(list(range(count)), True))})
    small.routes.update({f"/a/{n}.html": Reply(_article(n, True)) for n in range(4)})
    small.routes.update({f"/a/{n}.html": gate.route(_article(n, True)) for n in range(4, count)})
    # every article may be in flight at once: gated ones must not hold the slots the first four need
    source = f"[source.small]\nstart_urls = ['{small.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
    source += f"concurrency = {count}\n"
    write_sources(tmp_path / "sources.toml", f'[cluster]\nredis = "{server.url}"\n\n{source}')
    db = tmp_path / "cluster.db"
    procs = writer_and_workers(tmp_path, db)
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(tmp_path / "sources.toml"), "crawl"]
    crawl = subprocess.Popen([*cmd, "--json"], stdout=subprocess.PIPE, text=True, env=subprocess_env())
    client = keys.connect(server.url)
    try:
        wait_until(lambda: client.hget(keys.site_template("127.0.0.63"), "version"), "the site's template published")
        gate.opened.set()
        out, _ = crawl.communicate(timeout=180)
        assert crawl.returncode == 0, out
        status = cli(tmp_path, db, "cluster", "status", "--json").json()
    finally:
        gate.opened.set()
        crawl.kill()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    texts = [text for (text,) in rows(db, "select d.text from pages p join documents d on d.id = p.document_id")]
    assert len(texts) == count
    assert not [t[:60] for t in texts if MENU in t or SHARE in t]
    # the first flush (4 pages, at least 3 of them articles) was cut with no template, and cut again; the gated
    # ones with the published template, and recorded as the workers made them
    cuts = status["writer"]["cuts"]
    assert cuts["recut"] >= 3 and cuts["kept"] >= count - 4 and cuts["recut"] + cuts["kept"] == count, cuts


def test_a_request_enqueued_again_after_a_failure_is_not_its_own_duplicate(redis: Any) -> None:
    from scrapy import Request

    from crawler.cluster import keys
    from crawler.cluster.frontier import RunDupeFilter

    seen = RunDupeFilter(redis, keys.DUPEFILTER).request_seen
    request = Request("http://127.0.0.9/c_1.htm", meta={"source": "agency", "run_id": 1})
    assert not seen(request)
    assert not seen(request)  # its enqueue tried again (Redis was away): still the request let through
    assert seen(Request("http://127.0.0.9/c_1.htm", meta={"source": "agency", "run_id": 1}))  # another: a duplicate
    assert not seen(Request("http://127.0.0.9/c_1.htm", meta={"source": "agency", "run_id": 2}))  # another run


def test_a_request_found_while_redis_is_away_is_enqueued_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from redis.exceptions import ConnectionError as RedisAway
    from scrapy import Request

    from crawler.cluster import frontier

    class AwayTwice:
        calls = 0

        def request_seen(self, request: Request) -> bool:
            self.calls += 1
            if self.calls <= 2:
                raise RedisAway("Error 111 connecting to 127.0.0.1. Connection refused.")
            return False

    pushed: list[Request] = []
    monkeypatch.setattr(frontier.time, "sleep", lambda _s: None)  # the pause between tries, not under test
    scheduler = frontier.RunScheduler.__new__(frontier.RunScheduler)
    scheduler.df, scheduler.queue = AwayTwice(), SimpleNamespace(push=pushed.append)
    scheduler.stats, scheduler.spider = None, None
    request = Request("http://127.0.0.9/c_1.htm", meta={"run_id": 1})
    assert scheduler.enqueue_request(request) is True
    assert pushed == [request] and scheduler.df.calls == 3
    from crawler.cluster.worker import worker_settings

    assert worker_settings("redis://127.0.0.1:6379/0")["SCHEDULER"] == "crawler.cluster.frontier.RunScheduler"


def test_a_result_finished_while_redis_is_away_is_sent_once_it_is_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from redis.exceptions import ConnectionError as RedisAway

    from crawler.cluster import outbox

    sent: list[str] = []

    class AwayTwice:
        tries = 0

        def pipeline(self) -> Any:
            return self

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def lpush(self, key: str, raw: bytes) -> None:
            sent.append(key)

        def sadd(self, key: str, member: str) -> None:
            sent.append(key)

        def execute(self) -> None:
            self.tries += 1
            if self.tries <= 2:
                sent.clear()  # not run: the transaction never reached Redis
                raise RedisAway("Error 111 connecting to 127.0.0.1. Connection refused.")

    async def no_pause(_s: float) -> None:
        return None

    monkeypatch.setattr(outbox.asyncio, "sleep", no_pause)  # the pause between tries, not under test
    pipeline = outbox.OutboxPipeline.__new__(outbox.OutboxPipeline)
    pipeline.redis = AwayTwice()
    asyncio.run(pipeline._send({"url": "http://127.0.0.9/c_1.htm", "run_id": 1, "result_id": "r1"}))
    assert pipeline.redis.tries == 3 and sent == ["readouts:results", "readouts:run:1:waiting"]
