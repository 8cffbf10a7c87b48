"""The Redis keys the cluster shares, in one place, and the connection to Redis."""

from __future__ import annotations

from typing import Any

SPIDER = "readouts"  # the cluster spider's name: scrapy-redis names its queue and dupefilter after it
QUEUE = f"{SPIDER}:requests"  # scrapy-redis's priority queue (a sorted set) of serialised requests
DUPEFILTER = f"{SPIDER}:dupefilter"  # scrapy-redis's request fingerprints of the current crawls
SEEDS = "readouts:seeds"  # source crawls to start: JSON {"run_id", "source", "max_pages", "due"}
RESULTS = "readouts:results"  # fetched pages for the writer: JSON records (crawler.cluster.codec)
WRITING = "readouts:writing"  # results the writer took and has not recorded yet (re-taken when it restarts)
RECORDED = "readouts:recorded"  # ids of results recorded: a result delivered twice is recorded once
WORKERS = "readouts:workers"  # worker id -> JSON heartbeat {"at", "busy", "pages", "host", "pid"}
WRITER = "readouts:writer"  # the writer's heartbeat: JSON {"at", "recorded", "rate"}
WRITER_LEASE = "readouts:writer-lease"  # "host:pid" of the one writer recording; expires unless it renews it
WRITER_LEASE_MS = 15_000  # a writer silent this long is taken over by one standing by
RUNS = "readouts:runs"  # open cluster runs: run id -> JSON {"sources": [...]}
MAX_WAITING = 1000  # results waiting for the writer at most: past it, workers hold theirs and take no new work
HEARTBEAT_S = 1.0  # how often workers and the writer say they are alive
ALIVE_S = 10.0  # a heartbeat older than this is a dead process


def seen_articles(run_id: int) -> str:
    """Return the hash of the article URLs one run requested, each with its claimer's token (cluster.once)."""
    return f"readouts:run:{run_id}:article-claims"


def run_key(run_id: int, part: str) -> str:
    """Return the key of one part of a run's shared state (its dupefilter, a source's budget), deleted at its end."""
    return f"readouts:run:{run_id}:{part}"


def waiting(run_id: int) -> str:
    """Return the set of a run's result ids on their way to the writer (a set: a retried add or removal is harmless)."""
    return run_key(run_id, "waiting")


def seeds_taken(worker: str) -> str:
    """Return the list of seeds a worker took and has not started yet (put back if it dies)."""
    return f"readouts:seeds-taken:{worker}"


def known_urls(source: str) -> str:
    """Return the key of a source's archived article URLs, for the workers' stop-on-seen and dedup."""
    return f"readouts:known:{source}"


def site_lease(host: str) -> str:
    """Return the key whose expiry spaces the cluster's requests to one site by its source's delay."""
    return f"readouts:polite:{host}"


def site_slots(host: str) -> str:
    """Return the sorted set of a site's requests in flight across the cluster (member: token, score: expiry)."""
    return f"readouts:slots:{host}"


def site_template(host: str) -> str:
    """Return the hash of a site's template lines as the writer learned them: {"version", "keys": JSON list}."""
    return f"readouts:template:{host}"


def robots(netloc: str) -> str:
    """Return the key of a site's robots.txt as one worker fetched it for the cluster."""
    return f"readouts:robots:{netloc}"


REDIS_AWAY_S = 120.0  # how long a command waits for Redis to come back (a restart) before it fails


def connect(url: str) -> Any:
    """Return a Redis client for the URL whose commands wait for Redis to come back (redis imported only here)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # 0.05 s, doubling to 1 s: a restart of a few seconds costs a few retries; REDIS_AWAY_S in all
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=int(REDIS_AWAY_S))
    errors = [redis.ConnectionError, redis.TimeoutError]
    return redis.Redis.from_url(
        url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=5, retry=retry, retry_on_error=errors
    )
