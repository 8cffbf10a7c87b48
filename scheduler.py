"""The scheduling daemon: one APScheduler job per source, each crawl in its own subprocess, runs for months.

Usage: python scheduler.py [--db PATH] [--sources PATH] [--grace SECONDS] [--redis URL] [--list]
(also `readouts schedule`). In cluster mode ([cluster] redis or --redis) each due source is asked of the
cluster's writer instead of being crawled in a subprocess.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config.paths import entry_parser
from crawler.config.sources import Source, load_cluster_redis, load_sources, valid_redis_url
from crawler.errors import ConfigError
from crawler.locks import Busy, daemon_lock
from storage.archive import Archive
from storage.clock import format_time

logger = logging.getLogger("readouts.scheduler")
DEFAULT_GRACE = 60.0  # seconds a running crawl may take to finish after SIGTERM
MISFIRE_GRACE = 7 * 86400  # a run missed while the daemon was down still happens (once) when it is back
JOB_PREFIX = "source:"


@dataclass
class Running:
    """The crawl subprocesses in flight, so shutdown can wait for them or end them."""

    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    jobs: int = 0  # jobs in progress, until their run is recorded
    lock: threading.Lock = field(default_factory=threading.Lock)

    def idle(self) -> bool:
        """Return True when no job is in progress."""
        with self.lock:
            return self.jobs == 0


RUNNING = Running()
SETTINGS: dict[str, Any] = {}  # db and sources paths for the jobs of this daemon process


def job_store_path(db: str) -> str:
    """Return the job store of an archive: its own SQLite file beside it."""
    return f"{db}.jobs.sqlite"


def trigger_for(source: Source) -> IntervalTrigger | CronTrigger | None:
    """Return the source's schedule, or None when it has neither `every` nor `cron`."""
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone="UTC")
    if source.every_seconds:
        return IntervalTrigger(seconds=source.every_seconds, timezone="UTC")
    return None


def run_source(name: str, timeout: float) -> None:
    """The job: crawl one source in a subprocess (same code path as `readouts crawl`), or on the cluster, and log it."""
    db, sources = SETTINGS["db"], SETTINGS["sources"]
    cmd = [sys.executable, "-m", "crawler.run", name, "--db", db, "--trigger", "scheduled", "--wait"]
    if sources:
        cmd += ["--sources", sources]
    with RUNNING.lock:
        if SETTINGS.get("stopping"):
            return
        RUNNING.jobs += 1
    try:
        if SETTINGS.get("redis"):
            _crawl_on_cluster(name, timeout)
        else:
            _crawl_once(name, timeout, cmd, db)
    finally:
        with RUNNING.lock:
            RUNNING.jobs -= 1


def _crawl_once(name: str, timeout: float, cmd: list[str], db: str) -> None:
    """Run one crawl process to its end (or timeout) and record it."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    with RUNNING.lock:
        RUNNING.procs[name] = proc
    reason = ""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        reason = f"timed out after {timeout:.0f}s"
        _end(proc)
        out = b""
    finally:
        with RUNNING.lock:
            RUNNING.procs.pop(name, None)
    duration = round(time.monotonic() - started, 3)
    code = proc.returncode
    if not reason and code < 0:
        reason = f"killed by signal {-code}"
    elif not reason and code != 0:
        reason = f"exited with code {code}"
    if SETTINGS.get("stopping") and reason and code < 0:
        reason = f"terminated at shutdown ({reason})"
    with Archive(db) as archive:
        run_id = archive.settle_run(proc.pid, [name], "scheduled", code, duration, reason or "ok")
    counts: dict[str, Any] = {}
    try:
        counts = json.loads(out.decode("utf-8").strip().splitlines()[-1]) if out.strip() else {}
    except (ValueError, IndexError):
        counts = {}
    outcome = "ok" if code == 0 else "failed"
    log_run(name, run_id, outcome, duration, code, reason, counts)


def _crawl_on_cluster(name: str, timeout: float) -> None:
    """Have the cluster's writer crawl the source (its run, recorded by the writer, closes once its work drains)."""
    from crawler.cluster.ask import crawl_on_cluster

    started = time.monotonic()
    outcome, run_id, reason = crawl_on_cluster(SETTINGS["redis"], name, timeout, lambda: bool(SETTINGS.get("stopping")))
    duration = round(time.monotonic() - started, 3)
    status = "failed" if outcome is None else "ok" if outcome["status"] == "ok" else "failed"
    log_run(name, run_id, status, duration, None, reason, outcome or {})


def log_run(
    name: str, run_id: int | None, outcome: str, duration: float, code: int | None, reason: str, counts: dict[str, Any]
) -> None:
    """Write the one structured line per run."""
    record = {
        "source": name,
        "run_id": run_id,
        "outcome": outcome,
        "duration": duration,
        "exit_code": code,
        "reason": reason or None,
        **{k: counts.get(k) for k in ("pages_fetched", "new_documents", "changed", "gone", "failed", "errors")},
    }
    logger.info(json.dumps(record))


def _end(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate a crawl process, then kill it if it does not stop within `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _skipped(event: JobSubmissionEvent) -> None:
    """Record an overrun: the source's previous crawl was still running at its next run time."""
    name = event.job_id.removeprefix(JOB_PREFIX)
    with Archive(SETTINGS["db"]) as archive:
        run_id = archive.record_skipped([name], "scheduled", "previous crawl still running")
    log_run(name, run_id, "skipped", 0.0, None, "previous crawl still running", {})


def build_scheduler(db: str) -> BackgroundScheduler:
    """Return a scheduler with the archive's persistent job store, coalescing and one instance per source."""
    store = SQLAlchemyJobStore(url=f"sqlite:///{os.path.abspath(job_store_path(db))}")
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
        timezone="UTC",
    )
    scheduler.add_listener(_skipped, EVENT_JOB_MAX_INSTANCES)
    return scheduler


def sync_jobs(scheduler: BackgroundScheduler, sources: dict[str, Source]) -> None:
    """Re-create one job per scheduled source from the file, keeping next run times of unchanged schedules."""
    wanted = {}
    for source in sources.values():
        trigger = trigger_for(source)
        if trigger is not None:
            wanted[JOB_PREFIX + source.name] = (source, trigger)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
    now = datetime.now(UTC)
    for job_id, (source, trigger) in wanted.items():
        existing = scheduler.get_job(job_id)
        same = (
            existing is not None
            and str(existing.trigger) == str(trigger)
            and existing.args[1:] == (source.timeout_seconds,)
        )
        next_run = existing.next_run_time if same and existing and existing.next_run_time else now
        scheduler.add_job(
            "scheduler:run_source",
            trigger=trigger,
            args=[source.name, source.timeout_seconds],
            id=job_id,
            name=source.name,
            replace_existing=True,
            next_run_time=next_run,
        )


def list_schedule(db: str, sources: dict[str, Source]) -> list[dict[str, Any]]:
    """Return each source's schedule and next run time (from the job store when the daemon has run).

    A job the store does not hold yet runs when the daemon starts; `following_run` is its trigger's next time after
    now, so a schedule can be read before the daemon ever ran.
    """
    next_runs: dict[str, str] = {}
    if os.path.exists(job_store_path(db)):
        scheduler = build_scheduler(db)
        scheduler.start(paused=True)
        try:
            for job in scheduler.get_jobs():
                if job.next_run_time:
                    next_runs[job.id] = format_time(job.next_run_time)
        finally:
            scheduler.shutdown(wait=False)
    now = datetime.now(UTC)
    rows = []
    for s in sources.values():
        trigger = trigger_for(s)
        following = trigger.get_next_fire_time(None, now) if trigger is not None else None
        rows.append(
            {
                "source": s.name,
                "every": s.every,
                "cron": s.cron,
                "timeout": s.timeout,
                "next_run": next_runs.get(JOB_PREFIX + s.name),
                "following_run": format_time(following) if following else None,
            }
        )
    return rows


def setup_logging(db: str) -> None:
    """Log one line per run to stderr and to a rotating file beside the archive."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stderr),
        logging.handlers.RotatingFileHandler(f"{db}.scheduler.log", maxBytes=5_000_000, backupCount=5),
    ]
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # overruns are logged as skipped runs, by us


def serve(db: str, sources_path: str | None, grace: float = DEFAULT_GRACE, redis_url: str | None = None) -> int:
    """Run the daemon until SIGTERM or SIGINT (in cluster mode with a Redis URL); return the exit code."""
    problem = valid_redis_url(redis_url) if redis_url is not None else None
    if problem:
        print(f"error: --redis: {problem}", file=sys.stderr)
        return 2
    try:
        sources = load_sources(sources_path)
        redis_url = redis_url or load_cluster_redis(sources_path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lock = daemon_lock(db)
    try:
        lock.acquire()
    except Busy as exc:
        print(f"error: a scheduler is already running for {db} (PID {exc.pid}); stop it first", file=sys.stderr)
        return 1
    Archive(db).close()  # create and migrate the archive before any crawl runs
    SETTINGS.update(db=db, sources=sources_path, stopping=False, redis=redis_url)
    setup_logging(db)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    keeper = _keep_writer(db, sources_path, redis_url) if redis_url else None
    scheduler = build_scheduler(db)
    scheduler.start(paused=True)
    sync_jobs(scheduler, sources)
    scheduler.resume()
    jobs = ", ".join(f"{j.name} (next {j.next_run_time:%Y-%m-%d %H:%M:%S})" for j in scheduler.get_jobs())
    mode = {"cluster": redis_url} if redis_url else {}
    logger.info(json.dumps({"event": "started", "pid": os.getpid(), "jobs": jobs or "none", **mode}))
    stop.wait()
    with RUNNING.lock:
        SETTINGS["stopping"] = True  # start nothing new
    scheduler.shutdown(wait=False)
    _wait_idle(grace)
    with RUNNING.lock:
        left = list(RUNNING.procs.values())
    for proc in left:
        _end(proc)
    _wait_idle(30.0)  # the ended crawls' runs are recorded
    if keeper is not None:
        keeper.stop(grace)
    logger.info(json.dumps({"event": "stopped", "pid": os.getpid(), "terminated": len(left)}))
    lock.release()
    return 0


def _keep_writer(db: str, sources_path: str | None, redis_url: str) -> Any:
    """Start the cluster's writer beside the archive and keep it running (its output in <archive>.writer.log)."""
    from crawler.cluster.keeper import WriterKeeper, writer_command

    keeper = WriterKeeper(writer_command(db, sources_path, redis_url), f"{db}.writer.log", _log_event)
    keeper.start()
    return keeper


def _log_event(event: dict[str, object]) -> None:
    """Log one event of the daemon as a JSON line."""
    logger.info(json.dumps(event))


def _wait_idle(seconds: float) -> None:
    """Wait up to `seconds` for the jobs in progress to end."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not RUNNING.idle():
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run the daemon, or list the schedule."""
    parser = entry_parser("scheduler.py", (__doc__ or "").splitlines()[0])
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE, help="seconds a crawl may finish after SIGTERM")
    parser.add_argument("--redis", metavar="URL", help="cluster mode: enqueue crawls for the workers on this Redis")
    parser.add_argument("--list", action="store_true", help="print each source's schedule and next run, then exit")
    args = parser.parse_args(argv)
    if args.list:
        try:
            sources = load_sources(args.sources)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for row in list_schedule(args.db, sources):
            print(json.dumps(row))
        return 0
    return serve(args.db, args.sources, args.grace, args.redis)


if __name__ == "__main__":
    # the jobs name "scheduler:run_source": run as that module, not as __main__, so they share its state
    import scheduler

    sys.exit(scheduler.main())
