"""The scheduling daemon as real processes: crawl subprocesses, signals, restarts, one daemon per archive."""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from crawler.locks import holder
from tests.conftest import TESTS, subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, Route, SiteServer, slow
from tests.test_crawl import sources_toml

pytestmark = pytest.mark.slow
SCHEDULER = TESTS.parent / "scheduler.py"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    pages = sites.build_site("ministry")
    routes: dict[str, Route] = {path: Reply(page.body) for path, page in pages.items()}
    server = SiteServer("127.0.0.2", routes).start()
    yield server
    server.stop()


def make_sources(tmp: Path, server: SiteServer, every: str = "2s", extra: str = "") -> Path:
    return write_sources(
        tmp / "sources.toml",
        sources_toml({"ministry": server}) + f'every = "{every}"\n{extra}\n',
    )


class Daemon:
    """scheduler.py running in its own process."""

    def __init__(self, db: Path, sources: Path, grace: float = 30) -> None:
        cmd = [sys.executable, str(SCHEDULER), "--db", str(db), "--sources", str(sources), "--grace", str(grace)]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(), cwd=TESTS.parent
        )
        self.started = time.time()

    def stop(self, timeout: float = 180) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err


def list_schedule(db: Path, sources: Path) -> subprocess.CompletedProcess[str]:
    """Run `scheduler.py --list` and return what it printed."""
    return subprocess.run(
        [sys.executable, str(SCHEDULER), "--db", str(db), "--sources", str(sources), "--list"],
        capture_output=True,
        text=True,
        timeout=180,
        env=subprocess_env(),
        cwd=TESTS.parent,
    )


def runs(db: Path) -> list[dict[str, Any]]:
    """Return the archive's runs, oldest first ([] until the first crawl has created the archive's tables)."""
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("select * from runs order by id")]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise


def wait_for(condition: Callable[[], Any], seconds: float) -> Any:
    # `seconds` is a guard, not a wait: generous (a crawl subprocess takes 30 s to start on a loaded 2-core machine)
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {seconds}s")


@contextmanager
def job_store(db: Path) -> Iterator[Any]:
    """The daemon's persistent job store, opened without a running scheduler (none may fire a job meanwhile)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from scheduler import build_scheduler, job_store_path

    store = SQLAlchemyJobStore(url=f"sqlite:///{os.path.abspath(job_store_path(str(db)))}")
    store.start(build_scheduler(str(db)), "default")
    try:
        yield store
    finally:
        store.shutdown()


def ts(value: str) -> float:
    return time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


def test_interval_source_runs_repeatedly_never_overlapping(tmp_path: Path, site: SiteServer) -> None:
    db = tmp_path / "a.db"
    daemon = Daemon(db, make_sources(tmp_path, site))
    try:
        wait_for(lambda: len([r for r in runs(db) if r["status"] in ("ok", "failed")]) >= 2, 180)
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    done = [r for r in runs(db) if r["status"] in ("ok", "failed")]
    assert len(done) >= 2, runs(db)
    assert all(r["trigger"] == "scheduled" and r["status"] == "ok" for r in done)
    for before, after in itertools.pairwise(done):
        assert ts(after["started"]) >= ts(before["finished"])  # never two crawls of one source at once
    assert '"outcome": "ok"' in err and '"source": "ministry"' in err  # one structured line per run
    assert (tmp_path / "a.db.scheduler.log").read_text().count('"run_id"') >= len(done)


def test_second_daemon_on_one_archive_is_refused(tmp_path: Path, site: SiteServer) -> None:
    db = tmp_path / "a.db"
    sources = make_sources(tmp_path, site, every="1h")
    first = Daemon(db, sources)
    try:
        wait_for(lambda: holder(f"{db}.scheduler.lock") == first.proc.pid, 180)
        second = subprocess.run(
            [sys.executable, str(SCHEDULER), "--db", str(db), "--sources", str(sources)],
            capture_output=True,
            text=True,
            timeout=180,
            env=subprocess_env(),
            cwd=TESTS.parent,
        )
        assert second.returncode == 1
        assert str(first.proc.pid) in second.stderr
    finally:
        assert first.stop()[0] == 0


def test_sigterm_lets_the_running_crawl_finish_and_exits_0(tmp_path: Path, site: SiteServer) -> None:
    article = sites.articles("ministry")[0]
    site.routes[article.path] = slow(sites.build_site("ministry")[article.path].body, 3)
    db = tmp_path / "a.db"
    daemon = Daemon(db, make_sources(tmp_path, site, every="1h"), grace=30)
    wait_for(lambda: article.path in site.hits, 180)  # the crawl is inside the slow page
    started = time.time()
    code, _ = daemon.stop()
    assert code == 0 and time.time() - started < 30
    (run,) = runs(db)
    assert run["status"] == "ok" and run["new_documents"] == 4


def test_killed_crawl_is_recorded_failed_and_the_next_tick_crawls_again(tmp_path: Path, site: SiteServer) -> None:
    article = sites.articles("ministry")[0]
    site.routes[article.path] = slow(sites.build_site("ministry")[article.path].body, 4)
    db = tmp_path / "a.db"
    daemon = Daemon(db, make_sources(tmp_path, site, every="3s"))
    try:
        first = wait_for(lambda: [r for r in runs(db) if r["status"] == "running"], 180)[0]
        wait_for(lambda: article.path in site.hits, 180)
        os.kill(first["pid"], signal.SIGKILL)
        wait_for(lambda: [r for r in runs(db) if r["id"] > first["id"] and r["status"] == "ok"], 180)
    finally:
        assert daemon.stop()[0] == 0
    killed = next(r for r in runs(db) if r["id"] == first["id"])
    assert killed["status"] == "failed" and killed["exit_code"] == -9 and "signal 9" in killed["error_samples"]


def test_restart_continues_the_schedule_with_one_catch_up_run(tmp_path: Path, site: SiteServer) -> None:
    from scheduler import JOB_PREFIX

    db = tmp_path / "a.db"
    sources = make_sources(tmp_path, site, every="1h")
    daemon = Daemon(db, sources)
    try:
        wait_for(lambda: [r for r in runs(db) if r["status"] == "ok"], 180)  # a new job runs at once
    finally:
        assert daemon.stop()[0] == 0
    listed = list_schedule(db, sources)
    assert listed.returncode == 0 and '"next_run": "20' in listed.stdout  # kept in the job store
    # the daemon was "down" for five hours: move the stored next run time back instead of waiting for the clock
    with job_store(db) as store:
        job = store.lookup_job(JOB_PREFIX + "ministry")
        missed = (datetime.now(UTC) - timedelta(hours=5, minutes=1)).replace(microsecond=0)
        job._modify(next_run_time=missed)
        store.update_job(job)
    before = len(runs(db))
    restarted = Daemon(db, sources)
    try:
        wait_for(lambda: [r for r in runs(db)[before:] if r["status"] not in ("running",)], 180)
    finally:
        code, err = restarted.stop()
    assert code == 0
    assert f"ministry (next {missed:%Y-%m-%d %H:%M:%S})" in err  # the stored next run time was kept, not reset
    after = runs(db)[before:]
    # coalesced: the five missed ticks give one run, not one run and four `skipped`
    assert [(r["status"], r["trigger"]) for r in after] == [("ok", "scheduled")], after
    with job_store(db) as store:
        next_run = store.lookup_job(JOB_PREFIX + "ministry").next_run_time
    assert timedelta(0) < next_run - datetime.now(UTC) <= timedelta(hours=1)  # the schedule goes on from the store


TICKS: list[datetime] = []


def tick() -> None:
    """A job that only notes that it ran."""
    TICKS.append(datetime.now(UTC))


def test_missed_ticks_are_coalesced_into_one_run(tmp_path: Path) -> None:
    from apscheduler.events import EVENT_JOB_EXECUTED

    from scheduler import build_scheduler

    TICKS.clear()
    done = threading.Event()
    scheduler = build_scheduler(str(tmp_path / "a.db"))  # the daemon's own job store and job defaults
    scheduler.add_listener(lambda _: done.set(), EVENT_JOB_EXECUTED)
    scheduler.start(paused=True)
    try:
        missed = datetime.now(UTC) - timedelta(hours=5, minutes=1)  # five ticks missed, a sixth due now
        scheduler.add_job("tests.test_scheduler:tick", "interval", hours=1, id="t", next_run_time=missed)
        scheduler.resume()
        assert done.wait(60)  # sent once the job has run for every run time it was given
    finally:
        scheduler.shutdown(wait=True)
    assert len(TICKS) == 1


def test_a_stored_job_whose_function_was_renamed_is_recreated(tmp_path: Path, site: SiteServer) -> None:
    from scheduler import JOB_PREFIX, build_scheduler

    module = tmp_path / "old_readouts_jobs.py"
    module.write_text("def crawl(name, timeout):\n    pass\n")
    sys.path.insert(0, str(tmp_path))
    db = tmp_path / "a.db"
    try:
        old = build_scheduler(str(db))
        old.start(paused=True)
        old.add_job("old_readouts_jobs:crawl", "interval", hours=1, args=["ministry", None], id=JOB_PREFIX + "ministry")
        old.shutdown(wait=False)
    finally:
        sys.path.remove(str(tmp_path))
        module.unlink()
    daemon = Daemon(db, make_sources(tmp_path, site, every="1h"))
    try:
        done = wait_for(lambda: [r for r in runs(db) if r["status"] == "ok"], 180)  # the job was rebuilt, and ran
    finally:
        code, err = daemon.stop()
    assert code == 0 and done[0]["trigger"] == "scheduled", err
    assert "Unable to restore job" in err  # APScheduler dropped the old job; the sources file re-created it


def write_old_job_store(path: Path, name: str, due: datetime) -> None:
    """Write a job store row by row as the pre-move code stored it (read back from a store that code wrote)."""
    state = {
        "version": 1,
        "id": f"source:{name}",
        "func": "scheduler:run_source",  # the textual reference APScheduler resolves when it loads the job
        "trigger": IntervalTrigger(seconds=3600, start_date=due, timezone="UTC"),
        "executor": "default",
        "args": (name, 3600.0),
        "kwargs": {},
        "name": name,
        "misfire_grace_time": 7 * 86400,
        "coalesce": True,
        "max_instances": 1,
        "next_run_time": due,
    }
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL, next_run_time FLOAT,"
            " job_state BLOB NOT NULL, PRIMARY KEY (id))"
        )
        conn.execute("CREATE INDEX ix_apscheduler_jobs_next_run_time ON apscheduler_jobs (next_run_time)")
        conn.execute(
            "INSERT INTO apscheduler_jobs VALUES (?, ?, ?)", (state["id"], due.timestamp(), pickle.dumps(state, 5))
        )


def test_a_job_store_written_before_the_modules_moved_keeps_its_schedule(tmp_path: Path, site: SiteServer) -> None:
    db = tmp_path / "a.db"
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    write_old_job_store(tmp_path / "a.db.jobs.sqlite", "ministry", due)
    sources = make_sources(tmp_path, site, every="1h")
    daemon = Daemon(db, sources)
    log = tmp_path / "a.db.scheduler.log"
    try:
        wait_for(lambda: log.exists() and '"event": "started"' in log.read_text(), 180)
    finally:
        code, err = daemon.stop()
    assert code == 0, err
    assert "Unable to restore job" not in err  # the stored reference still resolves
    listed = list_schedule(db, sources)
    # the stored job was kept with its next run time (a dropped job would be re-created due now, and crawl at once)
    assert f'"next_run": "{due:%Y-%m-%dT%H:%M:%SZ}"' in listed.stdout, listed.stdout
    assert runs(db) == []
