"""Downloader middleware that keeps every request, redirects included, on the source's allowed hosts."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest

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
