"""Scrapy's downloader with each site's concurrency kept also when its delay is zero, and sites held back on request."""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


def wait_before_sending(now: float, held_until: float, delay: float, lastseen: float) -> float:
    """Return how long a slot must still wait before its next request: its hold, and its delay after the last one.

    A hold (a site's Retry-After) counts whatever the delay is: the throttle may set a delay of zero meanwhile.
    """
    wait = held_until - now
    if delay:
        wait = max(wait, delay - now + lastseen)
    return max(wait, 0.0)


class SlotBoundDownloader(Downloader):
    """Count a request as transferring the moment it leaves its slot's queue, and let a site be held back.

    Scrapy 2.19 starts each download as a task and marks it transferring only when the task runs; with a delay of
    zero the loop below empties the whole queue first, so `concurrency = 1` sent every queued request at once (and
    a site answering 403 got all of them before the source could be stopped).
    """

    def __init__(self, crawler: Crawler) -> None:
        """Start with no site held back."""
        super().__init__(crawler)
        self.held_until: dict[Slot, float] = {}  # a Slot hashes by identity; an ended hold is dropped

    def hold(self, slot: Slot, seconds: float) -> None:
        """Send nothing from `slot` for `seconds` (a site's Retry-After), whatever its delay becomes meanwhile."""
        self.held_until[slot] = max(self.held_until.get(slot, 0.0), monotonic() + seconds)

    def _process_queue(self, slot: Slot) -> None:
        """Send queued requests while the slot has room, after its hold and delay (Scrapy's loop, counted at once)."""
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        held_until = self.held_until.get(slot, 0.0)
        if held_until and held_until <= now:
            del self.held_until[slot]
        penalty = wait_before_sending(now, held_until, delay, slot.lastseen)
        if penalty > 0:
            slot.latercall = call_later(penalty, self._latercall, slot)
            return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # _download adds it again (a set) and removes it when done
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break
