"""A reliable frontier: a request taken by a worker stays in its in-flight set until its page is handed on.

scrapy-redis's queues pop for good, so a worker killed mid-page would lose what it held. Here a pop moves the
request into `readouts:inflight:<worker>` in one transaction; the page's result (or the end of its callback)
acknowledges it; a worker whose heartbeat stops has its in-flight requests put back in the queue.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from redis import exceptions as redis_errors
from scrapy import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.cluster import codec, keys
from crawler.cluster.once import Claims

logger = logging.getLogger(__name__)
INFLIGHT_META = "readouts_inflight"  # request.meta key: the token of the request in its worker's in-flight set
CLAIM_META = "readouts_claim"  # request.meta key: the token of its fingerprint's claim, kept for a retried enqueue
ENQUEUE_TRIES = 60  # a request found while Redis is away is enqueued again, a second apart, this many times


def inflight_key(worker: str) -> str:
    """Return the key of the requests a worker holds."""
    return f"readouts:inflight:{worker}"


class ReliableQueue(PriorityQueue):  # type: ignore[misc]
    """scrapy-redis's priority queue whose pop keeps the request in the worker's in-flight set (WATCH/MULTI)."""

    def pop(self, timeout: int = 0) -> Request | None:
        """Take the first request and record it as held by this worker, atomically (none while results are full)."""
        worker = self.spider.worker_id
        if self.spider.results_full():  # back-pressure: the writer is behind or stopped
            return None
        while True:
            token = None
            with self.server.pipeline() as pipe:
                try:
                    pipe.watch(self.key)
                    first = pipe.zrange(self.key, 0, 0, withscores=True)
                    if not first:
                        return None
                    data, score = first[0]
                    token = uuid.uuid4().hex
                    pipe.multi()
                    pipe.zrem(self.key, data)
                    pipe.hset(inflight_key(worker), token, codec.dumps({"score": score, "data": data}))
                    pipe.execute()
                except (redis_errors.WatchError, redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                    # redis-py calls a connection lost under WATCH a WatchError, and EXEC may have run with its
                    # reply lost: when this worker's token is in its in-flight set, the request is its to crawl
                    if token is None or not self.server.hexists(inflight_key(worker), token):
                        if isinstance(exc, redis_errors.WatchError):
                            continue  # another worker took it first (or the watch was lost): try the next one
                        logger.warning("cannot take a request from Redis now: %s", exc)
                        return None  # Redis away: the engine asks again soon
            request = self._decode_request(data)
            request.meta[INFLIGHT_META] = token
            return request


class RunDupeFilter(RFPDupeFilter):  # type: ignore[misc]
    """scrapy-redis's request-fingerprint filter with one hash per run, so a run's end forgets only its requests.

    A run's fingerprints are claims (crawler.cluster.once): a SADD retried after Redis restarted would call the
    request it had just let through a duplicate, and nobody would crawl it.
    """

    def request_seen(self, request: Request) -> bool:
        """Return True when this run asked for the request already (a request of no run uses the shared set)."""
        run_id = request.meta.get("run_id")
        if run_id is None:
            return bool(self.server.sadd(self.key, self.request_fingerprint(request)) == 0)
        if not hasattr(self, "claims"):
            self.claims = Claims(self.server)
        token = request.meta.setdefault(CLAIM_META, uuid.uuid4().hex)
        return not self.claims.claim(
            keys.run_key(int(run_id), "fingerprints"), self.request_fingerprint(request), token
        )


class RunScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler whose enqueue waits for Redis to come back rather than lose the request.

    A request a page led to is enqueued as the page's callback runs; an error here (Redis away longer than the
    client's retries) would drop it, and the page's own request is acknowledged all the same.
    """

    def enqueue_request(self, request: Request) -> bool:
        """Enqueue the request (False: seen before), trying again while Redis is away."""
        for attempt in range(ENQUEUE_TRIES):
            try:
                return bool(super().enqueue_request(request))
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                logger.warning("cannot enqueue %s now (try %d): %s", request.url, attempt + 1, exc)
                time.sleep(1.0)  # the reactor waits, as every Redis call of this worker does meanwhile
        return bool(super().enqueue_request(request))


def acknowledge(redis: Any, worker: str, token: str | None) -> None:
    """Forget a request once its page was handed on (or its callback ended)."""
    if token:
        redis.hdel(inflight_key(worker), token)


def requeue_dead(redis: Any, now: float) -> int:
    """Put the in-flight requests and taken seeds of workers silent for ALIVE_S back; return how many."""
    moved = 0
    for worker, raw in redis.hgetall(keys.WORKERS).items():
        if now - json.loads(raw)["at"] < keys.ALIVE_S:
            continue
        name = worker.decode()
        for held in redis.hvals(inflight_key(name)):
            entry = codec.loads(held)
            redis.zadd(keys.QUEUE, {entry["data"]: entry["score"]})
            moved += 1
        while redis.lmove(keys.seeds_taken(name), keys.SEEDS, "LEFT", "RIGHT") is not None:
            moved += 1
        redis.delete(inflight_key(name))
        redis.hdel(keys.WORKERS, name)
    return moved


def drop_run(redis: Any, run_id: int) -> int:
    """Drop a cancelled run's seeds and queued requests from the frontier; return how many requests were dropped."""
    for raw in redis.lrange(keys.SEEDS, 0, -1):
        if int(json.loads(raw)["run_id"]) == run_id:
            redis.lrem(keys.SEEDS, 1, raw)
    queued = [data for data, _score in redis.zscan_iter(keys.QUEUE, count=1000)]
    mine = [data for data in queued if codec.loads(data).get("meta", {}).get("run_id") == run_id]
    if mine:
        redis.zrem(keys.QUEUE, *mine)
    return len(mine)
