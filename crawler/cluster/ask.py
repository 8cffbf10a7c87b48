"""`readouts crawl --redis`: ask the cluster's writer for a crawl and wait for its outcome."""

from __future__ import annotations

import json
import uuid
from time import monotonic, sleep
from typing import Any

from crawler.cluster.writer import CRAWLS, done_key

WAIT_STEP_S = 2


def ask_crawl(redis: Any, names: list[str], trigger: str = "manual") -> str:
    """Ask the writer for a crawl of the named sources (all when none); return the request's id."""
    request = uuid.uuid4().hex
    redis.rpush(CRAWLS, json.dumps({"request": request, "names": names, "trigger": trigger}))
    return request


def wait_crawl(redis: Any, request: str, timeout: float | None = None) -> dict[str, Any] | None:
    """Wait for the outcome of a crawl asked for (None when timeout passes first); Redis away is waited for."""
    import redis as redis_module

    deadline = None if timeout is None else monotonic() + timeout
    while deadline is None or monotonic() < deadline:
        try:  # short blocking pops: the client's socket timeout (10 s) must not end the wait
            popped = redis.blpop([done_key(request)], timeout=WAIT_STEP_S)
        except redis_module.ConnectionError:
            sleep(WAIT_STEP_S)  # Redis restarting: ask again
            continue
        if popped:
            return dict(json.loads(popped[1]))
    return None
