"""`readouts cluster status`: what the cluster holds."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from time import time
from typing import Any

from crawler.cluster import codec, keys

QUEUE_SAMPLE = 10_000  # queued requests read to count them per source


@dataclass
class ClusterStatus:
    """Workers alive, work waiting and the writer's rate: the `cluster status --json` contract."""

    workers: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0
    queued_by_source: dict[str, int] = field(default_factory=dict)
    seeds_waiting: int = 0
    results_waiting: int = 0
    open_runs: list[int] = field(default_factory=list)
    writer: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the JSON object printed by `readouts cluster status --json`."""
        return asdict(self)


def cluster_status(redis: Any, now: float | None = None) -> ClusterStatus:
    """Read the cluster's state from Redis."""
    now = time() if now is None else now
    status = ClusterStatus()
    for worker, raw in sorted(redis.hgetall(keys.WORKERS).items()):
        beat = json.loads(raw)
        age = now - beat["at"]
        status.workers.append({"worker": worker.decode(), **beat, "age_s": round(age, 1), "alive": age < keys.ALIVE_S})
    status.queued = int(redis.zcard(keys.QUEUE))
    counts: Counter[str] = Counter()
    for raw in redis.zrange(keys.QUEUE, 0, QUEUE_SAMPLE - 1):
        counts[codec.loads(raw).get("meta", {}).get("source", "?")] += 1
    status.queued_by_source = dict(counts.most_common())
    status.seeds_waiting = int(redis.llen(keys.SEEDS))
    status.results_waiting = int(redis.llen(keys.RESULTS)) + int(redis.llen(keys.WRITING))
    status.open_runs = sorted(int(r) for r in redis.hkeys(keys.RUNS))
    writer = redis.get(keys.WRITER)
    if writer:
        beat = json.loads(writer)
        status.writer = {**beat, "age_s": round(now - beat["at"], 1), "alive": now - beat["at"] < keys.ALIVE_S}
    return status
