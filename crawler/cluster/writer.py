"""`readouts writer`: the one process writing the archive and its WARC files, from the results workers send."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import monotonic, time
from typing import Any

from crawler.cluster import codec, keys
from crawler.cluster.drain import outstanding
from crawler.cluster.frontier import drop_run, requeue_dead
from crawler.cluster.tally import durable, tally_of
from crawler.config.sources import Source, select
from crawler.extraction.pool import ExtractorPool
from crawler.model import FetchedPage
from crawler.run import bound_of
from spiders.bounds import most_overdue
from spiders.pipeline import ArchivePipeline, CrawlContext, RunTally
from storage.archive import Archive, FrontierEntry, pid_alive
from storage.warc import WarcStore, store_for

logger = logging.getLogger(__name__)
CRAWLS = "readouts:crawls"  # crawls asked by `readouts crawl --redis`: JSON {"request", "names", "trigger", …}
CANCELS = "readouts:cancels"  # crawls to cancel (a scheduled run past its timeout): JSON {"request", "reason"}
KNOWN_BATCH = 5000
# give the lease up when it still holds this value (a dead writer's, seen so by a writer on its machine)
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# renew the writer's lease while this writer holds it: 1 when renewed, 0 when another holds it (or none does)
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# a run's keys besides its claimed articles (budgets, deferred: per source); "results" and "dupefilter": older writers'
RUN_PARTS = ("waiting", "tally", "fingerprints", "results", "dupefilter")


def dead_holder(holder: str, host: str, alive: Callable[[int], bool]) -> bool:
    """Return True when the lease's holder ("host:pid") is a writer on this host that exists no more."""
    holder_host, _, pid = holder.rpartition(":")
    return holder_host == host and pid.isdigit() and not alive(int(pid))


def done_key(request: str) -> str:
    """Return the list a crawl's outcome is pushed to, for the `crawl --redis` that asked for it."""
    return f"readouts:done:{request}"


def crawled_now(open_runs: Mapping[int, Sequence[str]], names: Sequence[str]) -> dict[str, int]:
    """Return the named sources an open run is crawling already, each with that run's id (one crawl per source)."""
    return {name: run_id for run_id, sources in open_runs.items() for name in sources if name in names}


@dataclass
class Held:
    """A result whose page is held back for template learning: acknowledged once the archive has it."""

    raw: bytes
    run_id: int
    page: FetchedPage | None  # None: not held back (recorded, or nothing to archive)


@dataclass
class OpenRun:
    """A cluster run the writer records: its counts and one archive pipeline per source."""

    run_id: int
    sources: list[str]
    request: str
    context: CrawlContext
    pipelines: dict[str, ArchivePipeline] = field(default_factory=dict)
    bounds: dict[str, int] = field(default_factory=dict)  # source -> its crawl's bound (max_pages)
    rechecks_left: dict[str, int] = field(default_factory=dict)  # source -> due re-checks the bound left


class Writer:
    """Take crawl requests and results from Redis and record them; finish each run once its work is drained."""

    def __init__(self, redis: Any, db_path: str, sources: dict[str, Source]) -> None:
        """Open the archive, the WARC store and the extraction pool."""
        self.redis, self.db_path, self.sources = redis, db_path, sources
        self.archive = Archive(db_path)
        self.pool = ExtractorPool()
        self.warc: WarcStore = store_for(db_path)
        self.runs: dict[int, OpenRun] = {}
        self.held: dict[str, Held] = {}  # result id -> its result, taken and not archived yet
        self.recorded = 0
        self.drained_since: dict[int, float] = {}  # run -> when its work was first seen drained
        self.checked = 0.0
        self.rate: list[tuple[float, int]] = []
        self.published: dict[str, frozenset[str]] = {}  # host -> the template lines published to workers
        self.cuts: Counter[str] = Counter()  # workers' cuts kept, and cut again by a template learned since
        self.me = f"{socket.gethostname()}:{os.getpid()}"
        self.renew = redis.register_script(RENEW)
        self.release = redis.register_script(RELEASE)

    async def serve(self, stop: asyncio.Event) -> None:
        """Record until stop is set: crawl requests first, then results; finish runs whose work is drained.

        Only one writer records: one started while another holds the lease stands by until that one stops.
        """
        if not await self._lease(stop):
            return
        self._retake()
        self._reopen()
        while not stop.is_set():
            await self.cancel_crawls()
            self.start_crawls()
            raw = self.redis.blmove(keys.RESULTS, keys.WRITING, 0.5, "RIGHT", "LEFT")
            if raw is not None:
                await self.record(raw)
            else:
                await self._orphans()
            if raw is None or monotonic() - self.checked >= keys.HEARTBEAT_S:
                self.checked = monotonic()
                await self._maybe_finish()
            if not self._beat():
                logger.error("another writer took the archive over (this one was silent too long): stopping")
                return
            await asyncio.sleep(0)  # let the signal handlers run

    async def _lease(self, stop: asyncio.Event) -> bool:
        """Wait for the writer's lease (another writer holds it while it lives); False when stopped first."""
        waiting = False
        while not self.redis.set(keys.WRITER_LEASE, self.me, nx=True, px=keys.WRITER_LEASE_MS):
            holder = (self.redis.get(keys.WRITER_LEASE) or b"").decode()
            if dead_holder(holder, socket.gethostname(), pid_alive):  # killed: its lease need not run out
                self.release(keys=[keys.WRITER_LEASE], args=[holder])
                continue
            if not waiting:
                logger.warning("writer %s holds the archive: standing by", holder)
                waiting = True
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
                return False
            except TimeoutError:
                continue
        logger.warning("writer %s recording", self.me)
        return True

    def _retake(self) -> None:
        """Put back the results a previous writer took and did not archive (they are recorded once: by id)."""
        while (raw := self.redis.lmove(keys.WRITING, keys.RESULTS, "LEFT", "RIGHT")) is not None:
            item = codec.loads(raw)  # waiting again: its run is not drained before it is recorded
            self.redis.sadd(keys.waiting(int(item["run_id"])), item["result_id"])

    async def _orphans(self) -> None:
        """Record the results taken and neither held nor recorded: a move retried after its reply was lost."""
        for raw in self.redis.lrange(keys.WRITING, 0, -1):
            if codec.loads(raw)["result_id"] not in self.held:
                await self.record(raw)

    def _reopen(self) -> None:
        """Take over the runs a previous writer left open, with the counts it kept in Redis."""
        for run_id, raw in self.redis.hgetall(keys.RUNS).items():
            entry = json.loads(raw)
            context = self._context(tally_of(self.redis.get(keys.run_key(int(run_id), "tally"))))
            run = OpenRun(int(run_id), entry["sources"], entry["request"], context)
            run.bounds, run.rechecks_left = entry.get("bounds", {}), entry.get("rechecks_left", {})
            self.runs[int(run_id)] = run

    def start_crawls(self) -> None:
        """Start the crawls asked for: a run each, the sources' known URLs, due re-checks and frontier, then seeds."""
        while (raw := self.redis.lpop(CRAWLS)) is not None:
            ask = json.loads(raw)
            sources = select(self.sources, ask["names"])
            busy = crawled_now({r.run_id: r.sources for r in self.runs.values()}, [s.name for s in sources])
            if busy:
                self._refuse(ask["request"], busy)
                continue
            self._start(ask, sources)

    def _start(self, ask: dict[str, Any], sources: list[Source]) -> None:
        """Open a run for a crawl asked for and seed each of its sources."""
        names = [s.name for s in sources]
        run_id = self.archive.start_run(names, ask.get("trigger", "manual"), pid=os.getpid())
        run = self.runs[run_id] = OpenRun(run_id, names, ask["request"], self._context(RunTally()))
        seeds = []
        for source in sources:
            self._publish_known(source.name)
            every = self.archive.due_pages(source.name, every=bool(ask.get("recheck")))
            run.bounds[source.name] = bound_of(source, ask.get("max_pages"))
            taken, run.rechecks_left[source.name] = most_overdue(every, run.bounds[source.name])
            due = [[d.url, d.etag, d.last_modified] for d in taken]
            resume = [[e.url, e.kind] for e in self.archive.frontier(source.name)]  # where a cut crawl stopped
            seeds.append({"run_id": run_id, "source": source.name, "due": due, "resume": resume})
        # read by every worker (the bounds) and by a writer taking the run over (what it keeps at the end)
        entry = {"sources": names, "request": ask["request"], "max_pages": ask.get("max_pages")}
        entry |= {"full": bool(ask.get("full")), "bounds": run.bounds, "rechecks_left": run.rechecks_left}
        self.redis.hset(keys.RUNS, run_id, json.dumps(entry))
        for seed in seeds:
            self.redis.rpush(keys.SEEDS, json.dumps(seed))
        logger.info("run %s: %s seeded", run_id, ", ".join(names))

    def _context(self, tally: RunTally) -> CrawlContext:
        """Return a run's crawl context: the writer's archive, pool and WARC store; its template published."""
        return CrawlContext(self.archive, self.pool, tally, self.warc, flushed=self._publish_template, cuts=self.cuts)

    def _publish_template(self, host: str) -> None:
        """Publish the site's template lines with a new version when they changed (workers cut pages with them)."""
        lines = frozenset(self.archive.template_lines(host))
        if self.published.get(host) == lines:
            return
        with self.redis.pipeline() as pipe:
            pipe.hset(keys.site_template(host), "keys", json.dumps(sorted(lines)))
            pipe.hincrby(keys.site_template(host), "version", 1)
            pipe.execute()
        self.published[host] = lines

    def _refuse(self, request: str, busy: dict[str, int]) -> None:
        """Answer a crawl asked for while an open run crawls one of its sources: refused, no run recorded."""
        error = "; ".join(f"source {name!r} is being crawled now by cluster run {run}" for name, run in busy.items())
        outcome = {"run_id": None, "status": "refused", "busy": busy, "error": error}
        self.redis.rpush(done_key(request), json.dumps(outcome))
        self.redis.expire(done_key(request), 86400)
        logger.warning("crawl refused: %s", error)

    async def cancel_crawls(self) -> None:
        """Cancel the crawls asked to be: drop their queued work, record their runs failed with the reason."""
        while (raw := self.redis.lpop(CANCELS)) is not None:
            cancel = json.loads(raw)
            run = next((r for r in self.runs.values() if r.request == cancel["request"]), None)
            if run is None:
                continue  # not started (its ask was taken back) or finished already
            dropped = drop_run(self.redis, run.run_id)
            logger.warning("run %s cancelled (%s): %s queued requests dropped", run.run_id, cancel["reason"], dropped)
            run.context.tally.stopped |= {name: f"cancelled: {cancel['reason']}" for name in run.sources}
            await self._finish(run, "failed")

    def _publish_known(self, source: str) -> None:
        """Copy the source's archived article URLs into Redis, where workers look before requesting one."""
        known = sorted(self.archive.known_urls(source))
        key = keys.known_urls(source)
        pipe = self.redis.pipeline()
        pipe.delete(key)
        for start in range(0, len(known), KNOWN_BATCH):
            pipe.sadd(key, *known[start : start + KNOWN_BATCH])
        pipe.execute()

    async def record(self, raw: bytes) -> None:
        """Record one result (once: a result already recorded is only acknowledged; a held one once archived)."""
        item = codec.loads(raw)
        run_id, result_id = int(item["run_id"]), item["result_id"]
        if result_id in self.held:
            return  # a second copy of a held result: acknowledged with it, or found again as an orphan
        run = self.runs.get(run_id)
        page = None
        if not self.redis.sismember(keys.RECORDED, result_id):
            if run is None:
                logger.warning("result %s of run %s, which is not open here: dropped", item["url"], run_id)
            elif item.get("listing_error"):
                run.context.tally.error(item["url"], item["error"])
            else:
                extracted = codec.extraction_of(item["extraction"]) if item.get("extraction") else None
                cut = codec.cut_of(item["cut"]) if item.get("cut") else None
                page = codec.page_of(item)
                await self._pipeline(run, item["source"]).process_item(page, extracted=extracted, cut=cut)
            self.recorded += 1
        held = run is not None and page is not None and any(p is page for p in run.pipelines[item["source"]].holding())
        self.held[result_id] = Held(raw, run_id, page if held else None)  # not held: acknowledged now, below
        self._acknowledge(run, self._archived(), taken=(run_id, result_id))

    def _archived(self) -> list[tuple[str, Held]]:
        """Take from the held results those whose page the archive has now (flushed with its site's batch)."""
        holding = {id(p) for run in self.runs.values() for pipe in run.pipelines.values() for p in pipe.holding()}
        done = [result_id for result_id, held in self.held.items() if held.page is None or id(held.page) not in holding]
        return [(result_id, self.held.pop(result_id)) for result_id in done]

    def _acknowledge(
        self, run: OpenRun | None, archived: list[tuple[str, Held]], taken: tuple[int, str] | None = None
    ) -> None:
        """Mark archived results recorded and drop them from the writer's list, with the run's tally, at once.

        `taken`: the result just taken (run, id), no longer waiting: the run's drain waits on the writer's holdings
        no more (a run's last pages are flushed when it finishes).
        """
        with self.redis.pipeline() as pipe:  # MULTI: the tally kept counts exactly the results acknowledged
            if taken is not None:
                pipe.srem(keys.waiting(taken[0]), taken[1])
            for result_id, held in archived:
                pipe.sadd(keys.RECORDED, result_id)
                pipe.lrem(keys.WRITING, 0, held.raw)  # every copy: a result delivered twice is one result
            if run is not None:
                pages = [h.page for h in self.held.values() if h.run_id == run.run_id and h.page is not None]
                pipe.set(keys.run_key(run.run_id, "tally"), durable(run.context.tally, pages))
            pipe.execute()

    def _pipeline(self, run: OpenRun, name: str) -> ArchivePipeline:
        """Return the run's archive pipeline of a source (made once, with the source's archived URLs)."""
        if name not in run.pipelines:
            known = frozenset(self.archive.known_urls(name))
            run.pipelines[name] = ArchivePipeline(run.context, self.sources[name], known)
        return run.pipelines[name]

    async def _maybe_finish(self) -> None:
        """Finish each open run whose work is drained, seen so twice with every worker's heartbeat in between."""
        if not self.runs:
            return
        now = time()
        if requeue_dead(self.redis, now):
            logger.warning("requests held by a silent worker put back in the queue")
        left = outstanding(self.redis, now, list(self.runs))
        for run in list(self.runs.values()):
            since = self.drained_since.get(run.run_id)
            if not left.drained(run.run_id):
                self.drained_since.pop(run.run_id, None)
            elif since is None:
                self.drained_since[run.run_id] = now
            elif left.oldest_beat > since:  # every worker spoke since: what they hold is known
                await self._finish(run)
                self.drained_since.pop(run.run_id, None)

    async def _finish(self, run: OpenRun, status: str = "ok") -> None:
        """Archive the pages held for template learning, keep where bounds cut it, record the run, tell the asker."""
        for pipeline in run.pipelines.values():
            await pipeline.close_spider()
        self._acknowledge(run, self._archived())
        tally = run.context.tally
        self._keep_frontiers(run)
        self.archive.finish_run(run.run_id, status, tally.counts(), tally.error_samples, tally.stopped, tally.bounded)
        run.context.warc_writer.shutdown(wait=True)
        outcome = {"run_id": run.run_id, "status": status, **tally.counts(), "error_samples": tally.error_samples}
        outcome |= {"stopped": tally.stopped, "bounded": tally.bounded}
        parts = [*RUN_PARTS, *(f"{part}:{name}" for name in run.sources for part in ("budget", "deferred"))]
        with self.redis.pipeline() as pipe:  # MULTI: whoever hears the outcome finds the run closed in the cluster
            pipe.hdel(keys.RUNS, run.run_id)
            pipe.delete(keys.seen_articles(run.run_id), *(keys.run_key(run.run_id, p) for p in parts))
            pipe.rpush(done_key(run.request), json.dumps(outcome))
            pipe.expire(done_key(run.request), 86400)
            pipe.execute()
        del self.runs[run.run_id]
        logger.info("run %s finished: %s", run.run_id, tally.counts())

    def _keep_frontiers(self, run: OpenRun) -> None:
        """Keep, per source, what the cluster's bound kept back, for the next crawl to start from (as locally)."""
        for name in run.sources:
            deferred = self.redis.hgetall(keys.run_key(run.run_id, f"deferred:{name}"))
            entries = [FrontierEntry(url.decode(), kind.decode()) for url, kind in sorted(deferred.items())]
            self.archive.keep_frontier(name, entries)
            left = run.rechecks_left.get(name, 0)
            if entries or left:
                bound = run.bounds.get(name, self.sources[name].max_pages if name in self.sources else 0)
                run.context.tally.bounded[name] = {"max_pages": bound, "resume_at": len(entries), "rechecks_left": left}

    def _beat(self) -> bool:
        """Publish the writer's heartbeat (results recorded, the rate over the last minute), renew its lease.

        Return False when the lease is another writer's now.
        """
        now = monotonic()
        self.rate.append((now, self.recorded))
        self.rate = [(t, n) for t, n in self.rate if now - t <= 60]
        span = now - self.rate[0][0]
        rate = (self.recorded - self.rate[0][1]) / span if span > 0 else 0.0
        beat: dict[str, Any] = {"at": time(), "recorded": self.recorded, "rate": round(rate, 2), "pid": os.getpid()}
        beat |= {"cuts": {"kept": self.cuts["kept"], "recut": self.cuts["recut"]}}
        self.redis.set(keys.WRITER, json.dumps({**beat, "host": socket.gethostname()}))
        return bool(self.renew(keys=[keys.WRITER_LEASE], args=[self.me, keys.WRITER_LEASE_MS]))

    def close(self) -> None:
        """Close the pool, the WARC store and the archive, give the lease up (open runs: a restart resumes them)."""
        self.renew(keys=[keys.WRITER_LEASE], args=[self.me, 1])  # expires now, if still this writer's
        self.pool.close()
        self.warc.close()
        self.archive.close()


def run_writer(redis_url: str, db_path: str, sources: dict[str, Source]) -> None:
    """Record results until SIGTERM or SIGINT."""
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        writer = Writer(keys.connect(redis_url), db_path, sources)
        try:
            await writer.serve(stop)
        finally:
            writer.close()

    asyncio.run(main())
