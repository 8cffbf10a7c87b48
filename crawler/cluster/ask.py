"""`readouts crawl --redis`: ask the cluster's writer for a crawl and wait for its outcome."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from time import monotonic, sleep
from typing import Any

from crawler.cluster import keys
from crawler.cluster.writer import CANCELS, CRAWLS, done_key

WAIT_STEP_S = 2
CANCEL_WAIT_S = 30.0  # how long a cancelled crawl's outcome (its run recorded failed) is waited for


def ask_crawl(
    redis: Any,
    names: list[str],
    trigger: str = "manual",
    max_pages: int | None = None,
    recheck: bool = False,
    full: bool = False,
) -> str:
    """Ask the writer for a crawl of the named sources (all when none), as `readouts crawl` takes it; return its id."""
    request = uuid.uuid4().hex
    ask = {"request": request, "names": names, "trigger": trigger, "max_pages": max_pages, "recheck": recheck}
    redis.rpush(CRAWLS, json.dumps({**ask, "full": full}))
    return request


def wait_crawl(
    redis: Any, request: str, timeout: float | None = None, stop: Callable[[], bool] = lambda: False
) -> dict[str, Any] | None:
    """Wait for the outcome of a crawl asked for (None when timeout passes or stop() says so); Redis away is waited."""
    import redis as redis_module

    deadline = None if timeout is None else monotonic() + timeout
    while (deadline is None or monotonic() < deadline) and not stop():
        try:  # short blocking pops: the client's socket timeout (10 s) must not end the wait
            popped = redis.blpop([done_key(request)], timeout=WAIT_STEP_S)
        except redis_module.ConnectionError:
            sleep(WAIT_STEP_S)  # Redis restarting: ask again
            continue
        if popped:
            return dict(json.loads(popped[1]))
    return None


def cancel_crawl(redis: Any, request: str, reason: str) -> None:
    """Take back a crawl asked for and not started, and ask the writer to cancel it if it started."""
    for raw in redis.lrange(CRAWLS, 0, -1):
        if json.loads(raw)["request"] == request:
            redis.lrem(CRAWLS, 1, raw)
    redis.rpush(CANCELS, json.dumps({"request": request, "reason": reason}))


def open_run_of(redis: Any, request: str) -> int | None:
    """Return the run the writer opened for a crawl asked for (None: not started, or finished)."""
    for run_id, raw in redis.hgetall(keys.RUNS).items():
        if json.loads(raw).get("request") == request:
            return int(run_id)
    return None


def crawl_on_cluster(
    url: str, name: str, timeout: float, stop: Callable[[], bool]
) -> tuple[dict[str, Any] | None, int | None, str]:
    """Crawl one source on the cluster for the scheduler: (its outcome or None, the run's id, why there is none)."""
    client = keys.connect(url)
    try:
        request = ask_crawl(client, [name], "scheduled")
        outcome = wait_crawl(client, request, timeout, stop)
        if outcome is None and stop():
            return None, open_run_of(client, request), "the daemon stopped; the run goes on in the cluster"
        if outcome is None:  # past the source's timeout: cancelled in the cluster, its run recorded failed
            reason = f"timed out after {timeout:.0f}s"
            run_id = open_run_of(client, request)
            cancel_crawl(client, request, reason)
            outcome = wait_crawl(client, request, CANCEL_WAIT_S, stop) if run_id is not None else None
            return outcome, run_id, f"{reason}; cancelled in the cluster" + ("" if run_id else " before it started")
        if outcome["status"] == "refused":
            return outcome, None, outcome["error"]
        return outcome, int(outcome["run_id"]), ""
    finally:
        client.close()
