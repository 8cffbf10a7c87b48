"""`readouts writer`: the one process writing the archive and its WARC files, from the results workers send."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from time import monotonic, time
from typing import Any

from crawler.cluster import codec, keys
from crawler.cluster.drain import outstanding
from crawler.cluster.frontier import requeue_dead
from crawler.config.sources import Source, select
from crawler.extraction.pool import ExtractorPool
from crawler.run import bound_of
from spiders.bounds import most_overdue
from spiders.pipeline import ArchivePipeline, CrawlContext, RunTally
from storage.archive import Archive
from storage.warc import WarcStore, store_for

logger = logging.getLogger(__name__)
CRAWLS = "readouts:crawls"  # crawls asked by `readouts crawl --redis`: JSON {"request", "names", "trigger", …}
KNOWN_BATCH = 5000
RUN_PARTS = ("results", "dupefilter")  # a run's keys besides its claimed articles (budgets: one per source)


def done_key(request: str) -> str:
    """Return the list a crawl's outcome is pushed to, for the `crawl --redis` that asked for it."""
    return f"readouts:done:{request}"


@dataclass
class OpenRun:
    """A cluster run the writer records: its counts and one archive pipeline per source."""

    run_id: int
    sources: list[str]
    request: str
    context: CrawlContext
    pipelines: dict[str, ArchivePipeline] = field(default_factory=dict)


class Writer:
    """Take crawl requests and results from Redis and record them; finish each run once its work is drained."""

    def __init__(self, redis: Any, db_path: str, sources: dict[str, Source]) -> None:
        """Open the archive, the WARC store and the extraction pool."""
        self.redis, self.db_path, self.sources = redis, db_path, sources
        self.archive = Archive(db_path)
        self.pool = ExtractorPool()
        self.warc: WarcStore = store_for(db_path)
        self.runs: dict[int, OpenRun] = {}
        self.recorded = 0
        self.drained_since: dict[int, float] = {}  # run -> when its work was first seen drained
        self.checked = 0.0
        self.rate: list[tuple[float, int]] = []

    async def serve(self, stop: asyncio.Event) -> None:
        """Record until stop is set: crawl requests first, then results; finish runs whose work is drained."""
        self._retake()
        self._reopen()
        while not stop.is_set():
            self.start_crawls()
            raw = self.redis.blmove(keys.RESULTS, keys.WRITING, 0.5, "RIGHT", "LEFT")
            if raw is not None:
                await self.record(raw)
            if raw is None or monotonic() - self.checked >= keys.HEARTBEAT_S:
                self.checked = monotonic()
                await self._maybe_finish()
            self._beat()
            await asyncio.sleep(0)  # let the signal handlers run

    def _retake(self) -> None:
        """Put back the results a previous writer took and did not record (they are recorded once: by id)."""
        while self.redis.lmove(keys.WRITING, keys.RESULTS, "LEFT", "RIGHT") is not None:
            pass

    def _reopen(self) -> None:
        """Take over the runs a previous writer left open (their counts restart from here)."""
        for run_id, raw in self.redis.hgetall(keys.RUNS).items():
            entry = json.loads(raw)
            context = CrawlContext(self.archive, self.pool, RunTally(), self.warc)
            self.runs[int(run_id)] = OpenRun(int(run_id), entry["sources"], entry["request"], context)

    def start_crawls(self) -> None:
        """Start the crawls asked for: a run each, the sources' known URLs and due re-checks, then seeds."""
        while (raw := self.redis.lpop(CRAWLS)) is not None:
            ask = json.loads(raw)
            sources = select(self.sources, ask["names"])
            names = [s.name for s in sources]
            run_id = self.archive.start_run(names, ask.get("trigger", "manual"), pid=os.getpid())
            context = CrawlContext(self.archive, self.pool, RunTally(), self.warc)
            self.runs[run_id] = OpenRun(run_id, names, ask["request"], context)
            bounds = {"max_pages": ask.get("max_pages"), "full": bool(ask.get("full"))}  # read by every worker
            self.redis.hset(keys.RUNS, run_id, json.dumps({"sources": names, "request": ask["request"], **bounds}))
            for source in sources:
                self._publish_known(source.name)
                every = self.archive.due_pages(source.name, every=bool(ask.get("recheck")))
                taken, _left = most_overdue(every, bound_of(source, ask.get("max_pages")))
                due = [[d.url, d.etag, d.last_modified] for d in taken]
                seed = {"run_id": run_id, "source": source.name, "due": due}
                self.redis.rpush(keys.SEEDS, json.dumps(seed))
            logger.info("run %s: %s seeded", run_id, ", ".join(names))

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
        """Record one result (once: a result already recorded is only acknowledged)."""
        item = codec.loads(raw)
        if not self.redis.sismember(keys.RECORDED, item["result_id"]):
            run = self.runs.get(int(item["run_id"]))
            if run is None:
                logger.warning("result %s of run %s, which is not open here: dropped", item["url"], item["run_id"])
            elif item.get("listing_error"):
                run.context.tally.error(item["url"], item["error"])
            else:
                extracted = codec.extraction_of(item["extraction"]) if item.get("extraction") else None
                await self._pipeline(run, item["source"]).process_item(codec.page_of(item), extracted=extracted)
            self.redis.sadd(keys.RECORDED, item["result_id"])
            self.recorded += 1
        with self.redis.pipeline() as pipe:  # MULTI: a result leaves its run's count when it leaves the list
            pipe.lrem(keys.WRITING, 1, raw)
            pipe.decr(keys.run_key(int(item["run_id"]), "results"))
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

    async def _finish(self, run: OpenRun) -> None:
        """Archive the pages held for template learning, record the run, tell whoever asked."""
        for pipeline in run.pipelines.values():
            await pipeline.close_spider()
        tally = run.context.tally
        status = "ok"
        self.archive.finish_run(run.run_id, status, tally.counts(), tally.error_samples, tally.stopped)
        run.context.warc_writer.shutdown(wait=True)
        outcome = {"run_id": run.run_id, "status": status, **tally.counts(), "error_samples": tally.error_samples}
        outcome["stopped"] = tally.stopped
        self.redis.rpush(done_key(run.request), json.dumps(outcome))
        self.redis.expire(done_key(run.request), 86400)
        self.redis.hdel(keys.RUNS, run.run_id)
        parts = [*RUN_PARTS, *(f"budget:{name}" for name in run.sources)]
        self.redis.delete(keys.seen_articles(run.run_id), *(keys.run_key(run.run_id, p) for p in parts))
        del self.runs[run.run_id]
        logger.info("run %s finished: %s", run.run_id, tally.counts())

    def _beat(self) -> None:
        """Publish the writer's heartbeat: results recorded and the rate over the last minute."""
        now = monotonic()
        self.rate.append((now, self.recorded))
        self.rate = [(t, n) for t, n in self.rate if now - t <= 60]
        span = now - self.rate[0][0]
        rate = (self.recorded - self.rate[0][1]) / span if span > 0 else 0.0
        beat = {"at": time(), "recorded": self.recorded, "rate": round(rate, 2), "pid": os.getpid()}
        self.redis.set(keys.WRITER, json.dumps(beat))

    def close(self) -> None:
        """Close the pool, the WARC store and the archive (open runs are left running: a restart resumes them)."""
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
