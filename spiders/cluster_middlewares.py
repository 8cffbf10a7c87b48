"""Cluster politeness: a source's concurrency and delay bound the requests all workers together send to its site,
and one worker fetches a site's robots.txt for the whole cluster."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import task
from twisted.internet.defer import Deferred

from crawler.cluster import keys
from spiders.middlewares import RobotsPolicyMiddleware

logger = logging.getLogger(__name__)
MIN_WAIT_S = 0.005
MAX_SLOT_WAIT_S = 0.5  # a request waiting for a free slot of its site asks again at most this far apart
# a slot or a robots.txt fetch lock expires this long after its worker last renewed it (every heartbeat), so a
# worker killed mid-download frees them about when its in-flight requests are put back in the queue
HELD_MS = round(keys.ALIVE_S * 1000)
SLOT_META = "readouts_slot"  # request.meta key: the token of the site slot the request holds
ROBOTS_TTL_S = 86400  # RFC 9309: a robots.txt is not used for more than a day
ROBOTS_FAILED_TTL_S = 600  # an unreachable robots.txt skips its site this long, then is asked again

# take one of a site's `limit` slots (expired holders, e.g. of dead workers, freed first); the clock is Redis's
TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  return 1
end
return 0
"""
# push back the expiry of a slot still held
RENEW_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
  return 1
end
return 0
"""


def lease_ms(delay: float) -> int:
    """Return how long one request holds its site's lease: the source's delay, in whole milliseconds."""
    return round(delay * 1000)


class SiteLeaseMiddleware:
    """Send a request to a site only while holding one of its `concurrency` slots and its `delay` lease.

    Slots: a sorted set per site in Redis whose members expire unless their worker renews them every heartbeat (a
    worker killed mid-download frees its slots); taken by a Lua script, given back when the answer or error comes.
    Lease: SET NX PX, expiring after the delay; whoever sets it may send, so two requests to one site, from any
    workers, start at least the source's delay apart. The slot is taken first: a lease is never held while waiting.
    """

    def __init__(self, crawler: Crawler) -> None:
        """Connect to the cluster's Redis."""
        self.crawler = crawler
        self.redis = keys.connect(crawler.settings["REDIS_URL"])
        self.take_slot = self.redis.register_script(TAKE_SLOT)
        self.renew_slot = self.redis.register_script(RENEW_SLOT)
        self.slots: set[tuple[str, str]] = set()  # (host, token) of the slots this worker holds
        self.renewing = task.LoopingCall(self._renew)
        self.renewing.start(keys.HEARTBEAT_S, now=False)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteLeaseMiddleware:
        """Build the middleware for a crawler; a slot is given back when its request leaves the downloader."""
        middleware = cls(crawler)
        # the signal, not process_response: a redirect or a retry made by a later middleware ends the response
        # chain before it reaches this one, and its slot would be held (and renewed) for ever
        crawler.signals.connect(middleware.left_downloader, signal=signals.request_left_downloader)
        return middleware

    def _source(self, request: Request) -> Any:
        """Return the request's source (None when it belongs to none, e.g. robots.txt)."""
        return getattr(self.crawler.spider, "sources", {}).get(request.meta.get("source"))

    async def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        """Wait until this worker holds one of the site's slots, then its lease; then let the request go."""
        source = self._source(request)
        if source is None:
            return None
        host = urlsplit(request.url).hostname or ""
        await self._take_slot(request, host, source.concurrency)
        ttl = lease_ms(source.delay)
        key = keys.site_lease(host)
        while ttl > 0 and not self.redis.set(key, getattr(self.crawler.spider, "name", "-"), nx=True, px=ttl):
            left = self.redis.pttl(key)
            await asyncio.sleep(max(left / 1000, MIN_WAIT_S))
        self._refuse_cancelled(request)
        return None

    def _refuse_cancelled(self, request: Request) -> None:
        """Let no request of a run cancelled while it waited here reach the site (its slot given back)."""
        run_id, open_run = request.meta.get("run_id"), getattr(self.crawler.spider, "open_run", None)
        if run_id is not None and open_run is not None and not open_run(int(run_id)):
            self._give_back(request)
            raise IgnoreRequest(f"run {run_id} was cancelled")

    async def _take_slot(self, request: Request, host: str, limit: int) -> None:
        """Wait for a free slot of the site and record its token in the request."""
        token, wait = uuid.uuid4().hex, MIN_WAIT_S
        while not self.take_slot(keys=[keys.site_slots(host)], args=[limit, HELD_MS, token]):
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_SLOT_WAIT_S)
        request.meta[SLOT_META] = (host, token)
        self.slots.add((host, token))

    def _renew(self) -> None:
        """Keep this worker's slots held (a heartbeat of theirs)."""
        try:
            for host, token in list(self.slots):
                self.renew_slot(keys=[keys.site_slots(host)], args=[HELD_MS, token])
        except Exception as exc:  # Redis away: the next beat tries again
            logger.warning("slots not renewed: %s", exc)

    def _give_back(self, request: Request) -> None:
        """Free the request's slot (once: a retried copy of the request takes a new one)."""
        held = request.meta.pop(SLOT_META, None)
        if held:
            host, token = held
            self.slots.discard((host, token))
            self.redis.zrem(keys.site_slots(host), token)

    def left_downloader(self, request: Request, spider: Spider | None = None) -> None:
        """Free the slot when the request's download ended, answered or not."""
        self._give_back(request)

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        """Free the slot of a request a later middleware refused before it reached the downloader."""
        self._give_back(request)


class ClusterRobotsMiddleware(RobotsPolicyMiddleware):
    """robots.txt fetched by one worker for the cluster and kept in Redis (a day; ten minutes when unreachable).

    The first worker to need it takes a lock and fetches it; the others wait for what it stores; every worker then
    applies the same policy to it (RobotsPolicyMiddleware) as a local crawl does.
    """

    def __init__(self, crawler: Crawler) -> None:
        """Connect to the cluster's Redis."""
        super().__init__(crawler)
        self.redis = keys.connect(crawler.settings["REDIS_URL"])

    async def robot_parser(self, request: Request) -> Any:
        """Return the site's parser, from this worker's memory, else Redis, else fetched here for the cluster."""
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            record = await self._shared(f"{url.scheme}://{netloc}/robots.txt", netloc)
            await self._apply(record, netloc, request)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _shared(self, robots_url: str, netloc: str) -> dict[str, Any]:
        """Return the cluster's record of a site's robots.txt, fetching it when no other worker is."""
        key, wait = keys.robots(netloc), MIN_WAIT_S
        while True:
            cached = self.redis.get(key)
            if cached is not None:
                return dict(json.loads(cached))
            if self.redis.set(f"{key}:fetching", "1", nx=True, px=HELD_MS):
                renewing = task.LoopingCall(self.redis.pexpire, f"{key}:fetching", HELD_MS)
                renewing.start(keys.HEARTBEAT_S, now=False)
                try:
                    record = await self._fetch(robots_url)
                finally:
                    renewing.stop()
                ttl = ROBOTS_TTL_S if record["kind"] == "response" and record["status"] < 500 else ROBOTS_FAILED_TTL_S
                self.redis.set(key, json.dumps(record), ex=ttl)
                self.redis.delete(f"{key}:fetching")
                return record
            await asyncio.sleep(wait)  # another worker is fetching it
            wait = min(wait * 2, MAX_SLOT_WAIT_S)

    async def _fetch(self, robots_url: str) -> dict[str, Any]:
        """Fetch a robots.txt and return what came as a record: the answer, or the error."""
        robots = Request(robots_url, priority=self.DOWNLOAD_PRIORITY, meta={"dont_obey_robotstxt": True})
        robots.callback = NO_CALLBACK
        assert self.crawler.engine is not None
        try:
            response = await self.crawler.engine.download_async(robots)
        except IgnoreRequest as exc:
            return {"kind": "ignored", "error": str(exc)}
        except Exception as exc:
            return {"kind": "error", "error": type(exc).__name__}
        body = base64.b64encode(response.body).decode("ascii")
        return {"kind": "response", "status": response.status, "url": response.url, "body": body}

    async def _apply(self, record: dict[str, Any], netloc: str, request: Request) -> None:
        """Set the site's parser from the cluster's record, with the local crawl's policy."""
        self.crawler.stats.inc_value("robotstxt/request_count")  # type: ignore[union-attr]
        if record["kind"] == "response":
            response = Response(record["url"], status=record["status"], body=base64.b64decode(record["body"]))
            await self._parse_robots(response, netloc, request)
        elif record["kind"] == "ignored":
            self._robots_error(IgnoreRequest(record["error"]), netloc)
        else:
            self._skip(netloc, f"could not be fetched ({record['error']})")
            super(RobotsPolicyMiddleware, self)._robots_error(IgnoreRequest(record["error"]), netloc)
