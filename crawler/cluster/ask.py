"""`readouts crawl --redis`: ask the cluster's writer for a crawl and wait for its outcome."""

from __future__ import annotations

import json
import uuid
from typing import Any

from crawler.cluster.writer import CRAWLS, done_key


def ask_crawl(redis: Any, names: list[str], trigger: str = "manual") -> str:
    """Ask the writer for a crawl of the named sources (all when none); return the request's id."""
    request = uuid.uuid4().hex
    redis.rpush(CRAWLS, json.dumps({"request": request, "names": names, "trigger": trigger}))
    return request


def wait_crawl(redis: Any, request: str, timeout: float | None = None) -> dict[str, Any] | None:
    """Wait for the outcome of a crawl asked for (None when timeout passes first)."""
    popped = redis.blpop([done_key(request)], timeout=timeout or 0)
    return json.loads(popped[1]) if popped else None
