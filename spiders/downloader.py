"""Scrapy's downloader with each site's concurrency kept also when its delay is zero."""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


class SlotBoundDownloader(Downloader):
    """Count a request as transferring the moment it leaves its slot's queue.

    Scrapy 2.19 starts each download as a task and marks it transferring only when the task runs; with a delay of
    zero the loop below empties the whole queue first, so `concurrency = 1` sent every queued request at once (and
    a site answering 403 got all of them before the source could be stopped).
    """

    def _process_queue(self, slot: Slot) -> None:
        """Send queued requests while the slot has room, after its delay (Scrapy's loop, counted at once)."""
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
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
