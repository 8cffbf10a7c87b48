"""Downloader middlewares: requests stay on the source's hosts, robots.txt failures and 429/403 follow a policy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from twisted.python.failure import Failure

from spiders.downloader import SlotBoundDownloader

logger = logging.getLogger(__name__)


class AllowedHostsMiddleware:
    """Refuse any request to a host outside the spider's allowed domains.

    Scrapy's offsite filter lets `dont_filter=True` requests through, and redirects inherit that flag; this check
    has no such exception.
    """

    def __init__(self, crawler: Crawler) -> None:
        """Keep the crawler, whose spider knows the allowed hosts."""
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AllowedHostsMiddleware:
        """Build the middleware for a crawler."""
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        """Raise IgnoreRequest for a request that would leave the source's hosts."""
        allowed = getattr(self.crawler.spider, "allows", None)  # SourceSpider.allows
        if allowed is not None and not allowed(request.url):
            self.crawler.stats.inc_value("readouts/offsite_refused")  # type: ignore[union-attr]
            raise IgnoreRequest(f"offsite: {request.url} is not on the source's allowed hosts")
        return None


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    """robots.txt with an explicit policy for the failures Scrapy treats as "allow all".

    - 5xx, a timeout or a refused connection: the site is skipped for this run (RFC 9309: unreachable = disallow);
      every request to it ends with an error naming the reason, so the run records it.
    - A redirect loop (seen on embassy sites) or a redirect to an HTML page: no rules, logged.
    - 4xx: no rules (the standard).
    """

    def __init__(self, crawler: Crawler) -> None:
        """Start with no host skipped."""
        super().__init__(crawler)
        self.skipped: dict[str, str] = {}

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Refuse requests to a host whose robots.txt could not be read; otherwise obey it."""
        await super().process_request(request)
        reason = self.skipped.get(urlparse_cached(request).netloc)
        if reason and not request.meta.get("dont_obey_robotstxt"):
            raise IgnoreRequest(f"site skipped this run: robots.txt {reason}")

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        """Skip the host when robots.txt answers 5xx; parse it otherwise."""
        if response.status >= 500:
            self._skip(netloc, f"answered HTTP {response.status}")
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        """Skip the host when robots.txt could not be fetched; a redirect loop means no rules."""
        if isinstance(exc, IgnoreRequest):
            logger.warning("robots.txt of %s redirects endlessly (%s): crawling without rules", netloc, exc)
        else:
            self._skip(netloc, f"could not be fetched ({type(exc).__name__})")
        super()._robots_error(exc, netloc)

    def _skip(self, netloc: str, reason: str) -> None:
        """Remember that a host is skipped for this run."""
        self.skipped[netloc] = reason
        self.crawler.stats.inc_value("readouts/robots_skipped")
        logger.warning("robots.txt of %s %s: site skipped this run", netloc, reason)


MAX_RETRY_AFTER_S = 300.0  # a site asking for a longer pause is left alone until the next run
BLOCKED_AFTER_403 = 10  # this many 403 answers in a row: the source is stopped for this run and flagged


class SourceStopped(IgnoreRequest):
    """A queued request dropped because its source was stopped for this run (it is not a page error)."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Return the pause a Retry-After header asks for (seconds or an HTTP date), or None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffMiddleware:
    """Honour Retry-After on 429/503, and stop a source whose site keeps answering 403.

    Scrapy's retry middleware retries 429 and 503 at once; this one first makes the whole site wait as long as it
    asked (the downloader slot is held back, so no other request to it goes out meanwhile). A pause longer than
    MAX_RETRY_AFTER_S, or BLOCKED_AFTER_403 refusals in a row, ends the source's crawl for this run with a flag
    that the run and `readouts sources` report; the pages not fetched are found again by the next run.
    """

    def __init__(self, crawler: Crawler) -> None:
        """Start with no refusals counted."""
        self.crawler = crawler
        self.refusals = 0
        self.stopped = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        """Build the middleware for a crawler."""
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Refuse any request of a stopped source before it reaches the wire (retries and redirects included)."""
        if self.stopped:
            raise SourceStopped(f"source stopped for this run: {request.url} not requested")

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        """Hold the site back for Retry-After and retry, or count 403s; pass everything else on."""
        if response.status == 403:
            self.refusals += 1
            if self.refusals >= BLOCKED_AFTER_403:
                self._stop(f"blocked: {self.refusals} HTTP 403 answers in a row; source stopped for this run")
            return response
        if response.status < 400:
            self.refusals = 0
        if response.status not in (429, 503):
            return response
        header = response.headers.get(b"Retry-After")
        pause = retry_after_seconds(header.decode("latin-1") if header else None)
        if pause is None:
            return response  # Scrapy's retry middleware and AutoThrottle handle it
        if pause > MAX_RETRY_AFTER_S:
            self._stop(f"deferred: the site asked to wait {pause:.0f}s (Retry-After); source left for the next run")
            return response
        assert self.crawler.spider is not None
        reason = f"HTTP {response.status}, Retry-After {pause:g}s"
        retry = get_retry_request(request, spider=self.crawler.spider, reason=reason)
        if retry is None:
            return response
        self._hold_back(request, pause)
        self.crawler.stats.inc_value("readouts/retry_after")  # type: ignore[union-attr]
        logger.info("%s answered %s: waiting %gs as asked before the next request", request.url, response.status, pause)
        return retry

    def _hold_back(self, request: Request, pause: float) -> None:
        """Send nothing to the request's site for `pause` seconds."""
        engine = self.crawler.engine
        assert engine is not None
        downloader = engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        assert isinstance(downloader, SlotBoundDownloader)  # spiders.settings' DOWNLOADER
        if slot is not None:
            downloader.hold(slot, pause)

    def _drop_queued(self, reason: str) -> None:
        """Drop the requests already waiting in the downloader: closing the spider would still send them."""
        engine = self.crawler.engine
        assert engine is not None
        for slot in engine.downloader.slots.values():
            while slot.queue:
                _, waiting = slot.queue.popleft()
                waiting.errback(Failure(SourceStopped(reason)))

    def _stop(self, reason: str) -> None:
        """End this source's crawl for this run, recording why."""
        if self.stopped:
            return
        self.stopped = True
        stats = self.crawler.stats
        assert stats is not None and self.crawler.engine is not None
        stats.set_value("readouts/stopped", reason)
        logger.warning("%s: %s", self.crawler.spider.name if self.crawler.spider else "source", reason)
        self._drop_queued(reason)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="readouts_stopped"))


WIRE_META = "readouts_wire"  # request.meta key: the body as received and its headers, when it came content-encoded


class WireBodyMiddleware:
    """Keep a content-encoded answer's body and headers as received, before Scrapy's HttpCompressionMiddleware
    decodes it and drops its Content-Encoding: the WARC capture stores what came over the wire.

    Placed above HttpCompressionMiddleware (590) so its process_response runs first; the key is always set, so a
    retried request never carries an earlier answer's body.
    """

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        """Remember the encoded body and the original headers of an answer that has a Content-Encoding."""
        encoded = request.method != "HEAD" and bool(response.headers.getlist(b"Content-Encoding"))
        request.meta[WIRE_META] = (response.body, header_pairs(response.headers)) if encoded else None
        return response


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """Return Scrapy headers as (name, value) text pairs, repeated headers kept."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]
