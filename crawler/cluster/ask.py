"""`readouts crawl --redis`: ask the cluster's writer for a crawl and wait for its outcome."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from time import monotonic, sleep
from typing import Any

from crawler.cluster import keys
from crawler.cluster.writer import CRAWLS, done_key

WAIT_STEP_S = 2


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
        if outcome is not None:
            return outcome, int(outcome["run_id"]), ""
        why = "the daemon stopped" if stop() else f"no outcome within {timeout:.0f}s (is a writer running?)"
        return None, open_run_of(client, request), f"{why}; the run goes on in the cluster"
    finally:
        client.close()
