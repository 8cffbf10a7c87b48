"""Downloader middlewares: every request stays on the source's hosts; robots.txt failures follow a stated policy."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


class AllowedHostsMiddleware:
    """Refuse any request to a host outside the spider's allowed domains.

    Scrapy's offsite filter lets `dont_filter=True` requests through, and redirects inherit that flag; this check
    has no such exception.
    """

    def process_request(self, request: Request, spider: Spider) -> Any:
        """Raise IgnoreRequest for a request that would leave the source's hosts."""
        allowed = getattr(spider, "_allowed", None)
        if allowed is not None and not allowed(request.url):
            spider.crawler.stats.inc_value("readouts/offsite_refused")
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
