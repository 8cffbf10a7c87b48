"""Per-site throttling: a source's own delay always, and more only while the site is slowing down."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.http import Response

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# an answer is "slow" when it takes this many times the site's fastest answer, and at least SLOW_SECONDS: on a
# site answering in 2 ms, 40 ms is not slowing down, and a site's normal jitter never throttles it
SLOW_FACTOR = 4.0
SLOW_SECONDS = 0.5


@dataclass
class SiteSpeed:
    """What one download slot (one site) has shown so far: its fastest answer and the delay it now gets."""

    fastest: float | None = None
    delay: float = 0.0


def next_delay(speed: SiteSpeed, latency: float, floor: float, ceiling: float) -> float:
    """Return the delay after an answer that took `latency` seconds: `floor` unless the site is slowing down.

    A slowing site gets AutoThrottle's rule with one request in flight (the delay moves towards its latency, never
    less than that latency); once its answers are quick again the extra delay halves per answer back to `floor`.
    """
    fastest = latency if speed.fastest is None else min(speed.fastest, latency)
    if latency > max(SLOW_SECONDS, SLOW_FACTOR * fastest):
        wanted = max(latency, (speed.delay + latency) / 2)
    else:
        extra = (speed.delay - floor) / 2
        wanted = floor + extra if extra > 0.01 else floor
    return min(max(floor, wanted), max(floor, ceiling))


def sets_pace(url: str) -> bool:
    """Return False for robots.txt: read once before the pages, its latency says nothing of the site's pace."""
    return urlsplit(url).path != "/robots.txt"


class SiteThrottle:
    """Scrapy extension: keep each site's slot at the source's delay, slowing only a site whose answers slow down.

    Replaces Scrapy's AutoThrottle, which let a single slow answer (robots.txt's, timed at ~100 ms on loopback)
    set a delay that answers other than 200 never lowered, and any delay above zero sends one request at a time.
    """

    def __init__(self, crawler: Crawler) -> None:
        """Read the floor (the source's delay) and the ceiling from the crawler's settings."""
        self.crawler = crawler
        self.floor = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.ceiling = crawler.settings.getfloat("READOUTS_THROTTLE_MAX_DELAY", 60.0)
        self.sites: dict[str, SiteSpeed] = {}
        crawler.signals.connect(self._downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the extension for a crawler."""
        return cls(crawler)

    def _downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        """Set the site's delay from one answer's latency (robots.txt's answer is not a page and does not count)."""
        key = request.meta.get("download_slot")
        latency = request.meta.get("download_latency")
        if key is None or latency is None or not sets_pace(request.url):
            return
        assert self.crawler.engine is not None
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is None:
            return
        speed = self.sites.setdefault(key, SiteSpeed(delay=slot.delay))
        delay = next_delay(speed, latency, self.floor, self.ceiling)
        speed.fastest = latency if speed.fastest is None else min(speed.fastest, latency)
        if delay != speed.delay:
            logger.info("site %s answered in %.0f ms: delay %.0f ms", key, latency * 1000, delay * 1000)
        speed.delay = slot.delay = delay
