"""Whether a cluster run's work is drained: no seed, queued or in-flight request, or busy worker left for it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crawler.cluster import codec, keys
from crawler.cluster.frontier import inflight_key

SCAN_BATCH = 1000  # queued requests read at a time


@dataclass
class Outstanding:
    """The cluster's work left, per run, and what decides when a drained run may be finished."""

    by_run: Counter[int] = field(default_factory=Counter)
    live_workers: int = 0
    oldest_beat: float = 0.0  # the oldest live worker's last heartbeat

    def drained(self, run_id: int) -> bool:
        """Return True when nothing of the run is left anywhere and some worker is alive to say so."""
        return self.live_workers > 0 and not self.by_run[run_id]


def _run_of(request_data: bytes) -> int | None:
    """Return the run a queued request belongs to (None: it carries none)."""
    run_id = codec.loads(request_data).get("meta", {}).get("run_id")
    return None if run_id is None else int(run_id)


def outstanding(redis: Any, now: float, runs: list[int]) -> Outstanding:
    """Read the runs' work left: seeds (taken or not), the queue, in-flight sets, busy workers, results waiting."""
    left = Outstanding()
    for run_id in runs:
        left.by_run[run_id] += int(redis.scard(keys.waiting(run_id)))
    seeds = redis.lrange(keys.SEEDS, 0, -1)
    for worker in redis.hkeys(keys.WORKERS):
        seeds += redis.lrange(keys.seeds_taken(worker.decode()), 0, -1)
    for raw in seeds:
        left.by_run[int(json.loads(raw)["run_id"])] += 1
    requests = [data for data, _score in redis.zscan_iter(keys.QUEUE, count=SCAN_BATCH)]
    live = []
    for worker, raw in redis.hgetall(keys.WORKERS).items():
        beat = json.loads(raw)
        requests += [codec.loads(held)["data"] for held in redis.hvals(inflight_key(worker.decode()))]
        if now - beat["at"] >= keys.ALIVE_S:
            continue
        live.append(beat["at"])
        for run_id, busy in beat.get("runs", {}).items():
            left.by_run[int(run_id)] += int(busy)
    left.by_run.update(run_id for run_id in map(_run_of, requests) if run_id is not None)
    left.live_workers = len(live)
    left.oldest_beat = min(live, default=0.0)
    return left
