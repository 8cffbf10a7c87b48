"""A site's Retry-After holds its whole download slot back, whatever delay the throttle sets meanwhile."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from spiders.downloader import SlotBoundDownloader, wait_before_sending
from spiders.middlewares import BackoffMiddleware
from tests.conftest import subprocess_env


@pytest.mark.parametrize(
    ("now", "held_until", "delay", "lastseen", "expected"),
    [
        (10.0, 0.0, 0.0, 9.0, 0.0),  # nothing held, no delay: send now
        (10.0, 12.0, 0.0, 9.0, 2.0),  # held, delay 0 (the throttle's floor): the hold still counts
        (10.0, 10.0, 0.0, 9.0, 0.0),  # the hold ends now
        (10.0, 0.0, 1.5, 9.0, 0.5),  # the delay after the last request
        (10.0, 12.0, 1.5, 9.0, 2.0),  # both: the longer
        (10.0, 10.2, 1.5, 9.0, 0.5),
        (10.0, 8.0, 1.5, 5.0, 0.0),  # both over
    ],
)
def test_wait_before_sending(now: float, held_until: float, delay: float, lastseen: float, expected: float) -> None:
    assert wait_before_sending(now, held_until, delay, lastseen) == pytest.approx(expected)


def test_a_retry_after_hold_outlasts_a_delay_set_back_to_zero() -> None:
    """Planted: the hold kept in the slot's delay and last-sent time, which the throttle's next quick answer of the
    site reset (delay 0: the loop no longer looks at the time), so a retry queued after it went out at once (a loaded
    run saw a retry 0.07 s after a 503 asking for 1 s)."""
    # in a process of its own: the downloader needs a Twisted reactor, which is installed once per process
    check = "from tests.test_hold import hold_outlasts_a_zero_delay; hold_outlasts_a_zero_delay()"
    done = subprocess.run([sys.executable, "-c", check], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def hold_outlasts_a_zero_delay() -> None:
    """Hold a slot by a 503's Retry-After, set its delay to 0 as the throttle does, and see the retry still held."""
    from twisted.internet import reactor  # noqa: F401  (installs Twisted's default reactor: nothing runs on it)

    crawler = get_crawler(Spider)
    crawler.spider = Spider.from_crawler(crawler, name="s")
    crawler.stats = StatsCollector(crawler)
    downloader = SlotBoundDownloader(crawler)
    crawler.engine = SimpleNamespace(downloader=downloader)  # type: ignore[assignment]
    request = Request("http://127.0.0.1/a.html")
    _, slot = downloader._get_slot(request)
    retry = BackoffMiddleware(crawler).process_response(
        request, HtmlResponse(request.url, status=503, headers={"Retry-After": "30"})
    )
    assert isinstance(retry, Request)
    slot.delay = 0.0  # what spiders.throttle does on the site's next quick answer
    slot.queue.append((retry, Deferred()))
    downloader._process_queue(slot)
    try:
        assert len(slot.queue) == 1 and slot.latercall is not None  # still held
        assert not slot.transferring
        slot.latercall.cancel()
        slot.latercall = None
        slot.queue.clear()
        downloader.held_until[slot] = 1.0  # a hold that ended long ago is dropped, not kept for the crawl's life
        downloader._process_queue(slot)
        assert slot not in downloader.held_until
    finally:
        if slot.latercall is not None:
            slot.latercall.cancel()
        downloader.close()
