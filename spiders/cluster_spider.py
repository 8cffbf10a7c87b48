"""The cluster's spider: one per worker, taking every source's crawl from the shared Redis frontier.

Each request carries its source and run in `meta`; the source's own SourceSpider (a delegate) parses it, and its
requests come back re-bound to this spider's methods, the only ones scrapy-redis can name in a queued request.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from time import time
from typing import Any, cast

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.cluster import codec, keys
from crawler.cluster.budget import RedisBudget
from crawler.cluster.frontier import CLAIM_META, INFLIGHT_META, acknowledge, inflight_key
from crawler.cluster.once import Claims
from crawler.cluster.outbox import results_full
from crawler.config.sources import Source
from crawler.model import FetchedPage
from spiders.bounds import ARTICLE, LISTING, beyond_depth
from spiders.source_spider import SourceSpider, canonical_url, on_allowed_hosts

logger = logging.getLogger(__name__)
SEEDS_PER_IDLE = 8  # source crawls a worker starts at once when it runs out of work


class RedisMembers:
    """A Redis set seen as a read-only container (a source's archived URLs)."""

    def __init__(self, redis: Any, key: str) -> None:
        """Keep the client and the set's key."""
        self.redis, self.key = redis, key

    def __contains__(self, item: object) -> bool:
        """Return True when the set holds the item."""
        return bool(self.redis.sismember(self.key, str(item)))


def claim_token(claims_key: str, via: str) -> str | None:
    """Return the token an article's claim is made with: the same for every reading of the page that links it
    (a worker killed between claiming and enqueuing leaves the claim to whoever reads that page again)."""
    return hashlib.sha1(f"{claims_key} {via}".encode()).hexdigest() if via else None


class ClusterSourceSpider(SourceSpider):
    """A source's spider whose article requests are claimed cluster-wide (each article is fetched by one worker)
    and whose requests the cluster's bound keeps back are kept in Redis, where the writer reads the run's frontier."""

    redis: Any = None
    claims: Claims | None = None
    claims_key: str = ""
    deferred_key: str = ""

    def _article_request(self, url: str, via: str = "") -> Request | None:
        """Return the request only when no worker requested this article in this run yet, or when the page that
        links it is read again (its worker died before the request reached the frontier)."""
        request = super()._article_request(url, via)
        self._share_deferred()
        token = claim_token(self.claims_key, via)
        if request is None or self.claims is None or not self.claims.claim(self.claims_key, canonical_url(url), token):
            return None
        if token:
            request.meta[CLAIM_META] = token  # the fingerprint's claim too: the page read again enqueues it again
        return request

    def _listing_request(self, url: str, resumed: bool = False) -> Request | None:
        """Return the listing page's request unless the cluster's bound keeps it back (then kept in Redis)."""
        request = super()._listing_request(url, resumed)
        self._share_deferred()
        return request

    def _share_deferred(self) -> None:
        """Move what the bound kept back into the run's Redis hash (url -> kind), shared by every worker."""
        if self.deferred:
            self.redis.hset(self.deferred_key, mapping=self.deferred)
            self.deferred.clear()


class ClusterSpider(Spider):
    """Take source crawls (seeds) and requests from Redis; hand pages to the writer; never close while idle."""

    name = keys.SPIDER

    def __init__(self, sources: dict[str, Source], redis_url: str, **kwargs: Any) -> None:
        """Keep the sources file's entries and connect to Redis."""
        super().__init__(**kwargs)
        self.sources = sources
        self.redis = keys.connect(redis_url)
        self.claims = Claims(self.redis)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.delegates: dict[tuple[str, int], ClusterSourceSpider] = {}
        self.pages = 0
        self.max_waiting = keys.MAX_WAITING
        self.held: dict[str, Any] = {"holding": 0}  # results the outbox holds back, and since when
        self._heartbeat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ClusterSpider:
        """Build the spider and listen for idleness (take seeds) and open/close (heartbeats)."""
        spider: ClusterSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.max_waiting = crawler.settings.getint("READOUTS_MAX_WAITING", keys.MAX_WAITING)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.opened, signal=signals.spider_opened)
        crawler.signals.connect(spider.closed_, signal=signals.spider_closed)
        return spider

    async def start(self) -> Any:
        """Start nothing: work comes from the seeds and the frontier."""
        return
        yield  # an async generator that yields nothing

    def opened(self) -> None:
        """Start the heartbeat."""
        self._heartbeat = task.LoopingCall(self.tick)
        self._heartbeat.start(keys.HEARTBEAT_S, now=False)
        self.beat()

    def tick(self) -> None:
        """Every heartbeat: take seeds when holding nothing (Scrapy's idle signal comes only every 5 s), then beat."""
        if not self.busy():
            self.take_seeds()
        self.beat()

    def closed_(self) -> None:
        """Stop the heartbeat and say this worker is gone."""
        if self._heartbeat and self._heartbeat.running:
            self._heartbeat.stop()
        self.redis.hdel(keys.WORKERS, self.worker_id)

    def busy(self) -> Counter[int]:
        """Return how many requests and responses of each run this worker holds (downloader, callbacks, items)."""
        engine = self.crawler.engine
        if engine is None:
            return Counter()
        slot = getattr(engine, "_slot", None)
        scraper_slot = getattr(engine.scraper, "slot", None)
        held = [*getattr(slot, "inprogress", ()), *getattr(scraper_slot, "active", ())]
        return Counter(int(r.meta["run_id"]) for r in held if r.meta.get("run_id") is not None)

    def beat(self) -> None:
        """Tell the cluster this worker is alive and how busy it is, per run."""
        runs = self.busy()
        busy = sum(runs.values())
        beat = {"at": time(), "busy": busy, "pages": self.pages, "host": socket.gethostname(), "pid": os.getpid()}
        beat |= {"runs": {str(run_id): n for run_id, n in runs.items()}, **self.held}
        try:
            if not busy:  # nothing held: what the in-flight set still lists was dropped on the way (offsite, …)
                self.redis.delete(inflight_key(self.worker_id))
            self.redis.hset(keys.WORKERS, self.worker_id, json.dumps(beat))
        except Exception as exc:  # Redis away: the next beat tries again
            logger.warning("heartbeat not sent: %s", exc)

    def results_full(self) -> bool:
        """Return True when the results waiting for the writer are at their bound: take no new work then."""
        try:
            return results_full(self.redis, self.max_waiting)
        except Exception as exc:  # Redis away: the pop that follows waits for it
            logger.warning("cannot read the results waiting: %s", exc)
            return False

    def idle(self) -> None:
        """Start the source crawls waiting as seeds; stay open."""
        self.take_seeds()
        self.beat()
        raise DontCloseSpider

    def take_seeds(self) -> None:
        """Start the source crawls waiting as seeds (unless results are full, or this worker is stopping)."""
        engine = self.crawler.engine
        if engine is None or not engine.running:
            return
        taken = keys.seeds_taken(self.worker_id)
        try:
            # moved, not popped: a move retried after its reply was lost leaves both seeds here, none lost
            for _ in range(0 if self.results_full() else SEEDS_PER_IDLE):
                if self.redis.lmove(keys.SEEDS, taken, "LEFT", "RIGHT") is None:
                    break
            seeds = self.redis.lrange(taken, 0, -1)
        except Exception as exc:
            logger.warning("cannot reach Redis for seeds: %s", exc)
            seeds = []
        for raw in seeds:
            seed = json.loads(raw)
            for request in self._seed_requests(seed):
                engine.crawl(request)
            self.redis.lrem(taken, 1, raw)

    def _seed_requests(self, seed: dict[str, Any]) -> Iterator[Request]:
        """Return a source crawl's first requests: its due re-checks, listing pages, feeds and sitemaps."""
        source = self.sources.get(seed["source"])
        if source is None:
            logger.error("seed for %r, which this worker's sources file does not have", seed["source"])
            return
        run_id = int(seed["run_id"])
        if not self.open_run(run_id):
            return  # cancelled before it started
        delegate = self._delegate(source.name, run_id)
        starts: list[Request] = [delegate._recheck_request(*due) for due in seed.get("due", [])]
        for url in source.start_urls:
            delegate.budget.spend(LISTING)  # start pages are always read, and count, as on one machine
            delegate.seen_listings.add(url)
        starts += [
            Request(u, callback=delegate.parse_listing, errback=delegate.listing_failed) for u in source.start_urls
        ]
        for url, kind in seed.get("resume", []):  # where the last crawl, cut by its bound, stopped
            if kind == ARTICLE:
                resumed = delegate._article_request(url, "resumed")
            else:
                resumed = delegate._listing_request(url, True)
            starts += [resumed] if resumed else []
        starts += [Request(u, callback=delegate.parse_feed, errback=delegate.listing_failed) for u in source.feeds]
        starts += [
            Request(u, callback=delegate.parse_sitemap, errback=delegate.listing_failed) for u in source.sitemaps
        ]
        for request in starts:
            yield self._adopt(request, source.name, run_id)

    def _delegate(self, name: str, run_id: int) -> ClusterSourceSpider:
        """Return the source's own spider for one run (made once), bounded for the whole cluster."""
        if (name, run_id) not in self.delegates:
            run = json.loads(self.redis.hget(keys.RUNS, run_id) or "{}")
            source = self.sources[name]
            known = RedisMembers(self.redis, keys.known_urls(name))
            spider_class = ClusterSourceSpider.for_source(source, known, {}, full=bool(run.get("full")))
            made = cast(ClusterSourceSpider, spider_class())
            made.redis, made.claims, made.claims_key = self.redis, self.claims, keys.seen_articles(run_id)
            made.deferred_key = keys.run_key(run_id, f"deferred:{name}")
            limit = run.get("max_pages") or source.max_pages
            made.budget = RedisBudget(self.redis, keys.run_key(run_id, f"budget:{name}"), limit)
            made.crawler = self.crawler  # its stats are this worker's
            self.delegates[(name, run_id)] = made
        return self.delegates[(name, run_id)]

    def _adopt(self, request: Request, source: str, run_id: int) -> Request:
        """Return the delegate's request bound to this spider's methods, tagged with its source and run."""
        callback: Callable[..., Any] | None = request.callback  # type: ignore[assignment]
        errback = request.errback
        request.meta.update(source=source, run_id=run_id)
        request.meta.setdefault("download_timeout", self.sources[source].page_timeout_seconds)
        return request.replace(
            callback=getattr(self, callback.__name__) if callback else None,
            errback=getattr(self, errback.__name__) if errback else None,
        )

    def _relay(self, meta: dict[str, Any], outputs: Iterable[Any] | None) -> Iterator[Any]:
        """Adopt the delegate's requests, then tag its item (one at most) with its run, a result id and its token.

        The item goes last, after the requests it found are queued: the outbox acknowledges the request when it
        pushes the item, and a request acknowledged must have nothing left to lose. Without an item, the end of
        the callback acknowledges it.
        """
        source, run_id, token = meta["source"], int(meta["run_id"]), meta.get(INFLIGHT_META)
        items = []
        if not self.open_run(run_id):  # cancelled: what it found is not crawled, nor its page recorded
            self.crawler.stats.inc_value("readouts/cancelled_run")  # type: ignore[union-attr]
            outputs = ()
        for out in outputs or ():
            if isinstance(out, Request):
                if beyond_depth(int(meta.get("depth", 0)), self.sources[source].max_depth):
                    self.crawler.stats.inc_value("readouts/beyond_max_depth")  # type: ignore[union-attr]
                    continue
                yield self._adopt(out, source, run_id)
            else:
                items.append(out)
        for item in items:
            self.pages += 1
            record = codec.page_record(item) if isinstance(item, FetchedPage) else item
            yield {**record, "run_id": run_id, "result_id": uuid.uuid4().hex, INFLIGHT_META: token}
        if not items:
            acknowledge(self.redis, self.worker_id, token)

    def open_run(self, run_id: int) -> bool:
        """Return True while the writer keeps the run open (a cancelled or finished run is gone)."""
        return bool(self.redis.hexists(keys.RUNS, run_id))

    def allows(self, url: str) -> bool:
        """Return True when the URL is on the allowed hosts of some source (AllowedHostsMiddleware asks)."""
        return any(on_allowed_hosts(url, source.allowed_domains) for source in self.sources.values())

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Parse a listing page with its source's spider."""
        yield from self._relay(response.meta, self._for(response.meta).parse_listing(response))

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Parse a feed with its source's spider."""
        yield from self._relay(response.meta, self._for(response.meta).parse_feed(response))

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Parse a sitemap with its source's spider."""
        yield from self._relay(response.meta, self._for(response.meta).parse_sitemap(response))

    def parse_article(self, response: Response) -> Iterator[Any]:
        """Hand an article page to the writer (and follow a moved page)."""
        yield from self._relay(response.meta, self._for(response.meta).parse_article(response))

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        """Hand a failed article fetch to the writer, to be recorded with its error."""
        meta = failure.request.meta  # type: ignore[attr-defined]
        yield from self._relay(meta, self._for(meta).article_failed(failure))

    def listing_failed(self, failure: Failure) -> Iterator[Any]:
        """Tell the writer a listing could not be fetched, for the run's errors."""
        meta = failure.request.meta  # type: ignore[attr-defined]
        self._for(meta).listing_failed(failure)
        error = {"listing_error": True, "url": failure.request.url, "source": meta["source"]}  # type: ignore[attr-defined]
        yield from self._relay(meta, [{**error, "error": _last_sample(self.crawler)}])

    def _for(self, meta: dict[str, Any]) -> ClusterSourceSpider:
        """Return the delegate of a request's source and run."""
        return self._delegate(meta["source"], int(meta["run_id"]))


def _last_sample(crawler: Crawler) -> str:
    """Return the newest error sample the delegate recorded in the worker's stats."""
    samples = crawler.stats.get_value("readouts/error_samples") if crawler.stats else None
    return samples[-1]["error"] if samples else "listing could not be fetched"
