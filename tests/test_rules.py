"""Rules at their boundaries and second branches: each test here was seen to fail with a planted one-line bug.

The bug each test guards against is named in its docstring (a comparison flipped, a branch dropped, a constant moved).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from scrapy import Request, Spider
from scrapy.http import HtmlResponse
from scrapy.statscollectors import StatsCollector
from scrapy.utils.test import get_crawler

from crawler.config.sources import parse_sources
from crawler.config.urls import canonical_url
from crawler.errors import ConfigError
from crawler.extraction.extract import Extracted
from crawler.extraction.fingerprint import content_hash, normalise
from crawler.extraction.meetings import meeting_date
from crawler.extraction.soft404 import looks_missing
from crawler.locks import source_lock
from crawler.monitor.deliver import deliver
from spiders.middlewares import BLOCKED_AFTER_403, MAX_RETRY_AFTER_S, BackoffMiddleware, retry_after_seconds
from spiders.source_spider import MAX_PATH_SEGMENTS, looks_like_trap, on_allowed_hosts
from storage.archive import Archive, ArticleText, PageRecord
from storage.meetings import meeting_for
from storage.stories import STORY_THRESHOLD
from tests.conftest import write_sources
from tests.fixtureweb.seeds import all_seeds
from tests.mockserver import Reply, Route
from tests.test_notify import Receiver, closed_port

PERMUTATIONS = 128


@pytest.mark.parametrize(
    ("url", "on_site"),
    [
        ("https://example.org/a", True),
        ("https://news.example.org/a", True),
        ("https://a.b.example.org/a", True),
        ("https://evilexample.org/a", False),  # ends like the domain, is not under it
        ("https://example.org.evil.com/a", False),
        ("https://example.com/a", False),
        ("https://org/a", False),
    ],
)
def test_only_the_allowed_host_and_its_subdomains_are_on_site(url: str, on_site: bool) -> None:
    """Planted: `host.endswith(d)` without the dot lets evilexample.org through."""
    assert on_allowed_hosts(url, ("example.org",)) is on_site


def test_a_long_readout_that_says_removed_or_not_found_is_no_soft_404() -> None:
    """Planted: the length guard dropped, a real readout mentioning removal is thrown away as a missing page."""
    seed = all_seeds()[0]
    lines = (*seed.body, "Both sides agreed that sanctions which have been removed must not return.")
    assert len("\n".join(lines)) > 600
    assert not looks_missing(Extracted(title=seed.title, lines=lines))
    assert not looks_missing(Extracted(title="Page not found? Not this one", lines=seed.body))
    assert looks_missing(Extracted(title="Error", lines=("The page has been removed.",)))
    assert looks_missing(Extracted(title="404 Not Found", lines=("Back to the home page",)))


def _signature(equal: int, salt: int) -> bytes:
    """A MinHash signature sharing its first `equal` values with every other one (`salt` makes the rest differ)."""
    values = np.arange(PERMUTATIONS, dtype="uint64") + 1
    values[equal:] += np.uint64(1_000_000 * (salt + 1))
    return values.tobytes()


def _story_of(archive: Archive, url: str, signature: bytes) -> int:
    """Archive a page whose text has this signature (and one shared LSH band) and return its story id."""
    text = f"text of {url}"
    art = ArticleText(content_hash(text), text, title="t", signature=signature, bands=("band-1",))
    archive.record(PageRecord(url=url, source="s", host="h", status=200, article=art))
    row = archive.db.execute(
        "select d.id, d.story_id from pages p join documents d on d.id = p.document_id where p.url = ?", [url]
    ).fetchone()
    return int(row[1]) if row[1] != row[0] else 0  # 0: a story of its own


def test_story_threshold_joins_just_above_and_separates_just_below(tmp_path: Path) -> None:
    """Planted: STORY_THRESHOLD moved to 0.5 (the pair just above stays apart) or 0.25 (the pair just below joins)."""
    above = int(np.ceil(STORY_THRESHOLD * PERMUTATIONS))  # 52 of 128 = 0.406
    assert 0.4 < above / PERMUTATIONS < 0.41
    archive = Archive(tmp_path / "a.db")
    first = _story_of(archive, "http://h/1", _signature(PERMUTATIONS, 0))
    assert first == 0
    assert _story_of(archive, "http://h/2", _signature(above, 1)) != 0  # 0.406: joins the first one's story
    other = Archive(tmp_path / "b.db")
    _story_of(other, "http://h/1", _signature(PERMUTATIONS, 0))
    assert _story_of(other, "http://h/2", _signature(above - 1, 1)) == 0  # 0.398: a story of its own


@pytest.mark.parametrize(
    ("weekday", "expected"),
    [
        ("Wednesday", "2024-03-06"),  # the publication day itself
        ("Tuesday", "2024-03-05"),
        ("Monday", "2024-03-04"),
        ("Thursday", "2024-02-29"),  # later in the week than the publication: the week before
        ("Sunday", "2024-03-03"),
    ],
)
def test_on_a_weekday_is_the_last_such_day_up_to_the_publication(weekday: str, expected: str) -> None:
    """Planted: the `% 7` dropped puts a meeting "on Thursday" after its own Wednesday readout."""
    assert meeting_date(f"Xi Jinping held talks with Vladimir Putin on {weekday} in Beijing.", "2024-03-06") == expected


def test_meetings_join_on_the_same_date_with_two_shared_parties_only(tmp_path: Path) -> None:
    """Planted: `>= need` flipped or need fixed at 1: talks of Xi with two leaders the same day become one meeting."""
    archive = Archive(tmp_path / "a.db")
    db = archive.db
    day = "2024-03-06"
    one = meeting_for(db, "talks", day, None, ("Vladimir Putin", "Xi Jinping"))
    assert meeting_for(db, "talks", day, "Beijing", ("Xi Jinping", "Vladimir Putin")) == one
    assert meeting_for(db, "talks", day, None, ("Xi Jinping", "Emmanuel Macron")) != one  # one party shared
    assert meeting_for(db, "talks", "2024-03-07", None, ("Vladimir Putin", "Xi Jinping")) != one  # next day
    alone = meeting_for(db, "meeting", day, None, ("Xi Jinping",))  # one known party: one is enough
    assert alone == one
    assert db.execute("select place from meetings where id = ?", [one]).fetchone()[0] == "Beijing"


def _page(url: str, text: str, **fields: object) -> PageRecord:
    """A fetched article page with this text."""
    art = ArticleText(content_hash(text), text, title="Talks")
    return PageRecord(url=url, source="s", host="h", status=200, article=art, **fields)  # type: ignore[arg-type]


def _kinds(archive: Archive, url: str) -> list[str]:
    """The event kinds of a page, oldest first."""
    return [r[0] for r in archive.db.execute("select kind from events where url = ? order by id", [url])]


@pytest.mark.parametrize("away", ["moved", "gone"])
@pytest.mark.parametrize("answer", ["200", "304"])
def test_a_page_that_moved_or_went_and_came_back_gets_a_back_event(tmp_path: Path, away: str, answer: str) -> None:
    """Planted: the `back` branch dropped (in `record` for a 200, in `record_not_modified` for a 304)."""
    archive = Archive(tmp_path / "a.db")
    url = "http://h/a"
    archive.record(_page(url, "The readout."))
    probe = PageRecord(url=url, source="s", host="h", status=404 if away == "gone" else 301)
    if away == "moved":
        archive.record_moved(probe, "http://h/b")
    else:
        archive.record_gone(probe)
    if answer == "200":
        archive.record(_page(url, "The readout."))
    else:
        archive.record_not_modified(PageRecord(url=url, source="s", host="h", status=304))
    assert _kinds(archive, url) == ["new", away, "back"]
    assert archive.db.execute("select state from pages where url = ?", [url]).fetchone()[0] == "live"
    archive.record(_page(url, "The readout."))  # live and unchanged: nothing more
    assert _kinds(archive, url) == ["new", away, "back"]


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering (what an unreachable robots.txt looks like to the crawler)."""
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def _one_article_site() -> dict[str, Route]:
    """A listing and one readout."""
    seed = all_seeds()[1]
    body = "".join(f"<p>{line}</p>" for line in seed.body)
    article = f"<html><head><title>{seed.title}</title></head><body><h1>{seed.title}</h1>{body}</body></html>"
    return {"/news/": Reply(b'<a href="/a/one.html">one</a>'), "/a/one.html": Reply(article.encode())}


def test_an_unreachable_robots_txt_skips_the_site(tmp_path: Path, serve, readouts) -> None:
    """Planted: a robots.txt that cannot be fetched (no answer, not a 5xx) treated as "allow all"."""
    site = serve("127.0.0.41", {**_one_article_site(), "/robots.txt": hang_up})
    sources = write_sources(
        tmp_path / "s.toml", f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
    )
    result = readouts("--sources", str(sources), "crawl", "--json")
    assert result.code == 1 and result.json()["status"] == "failed", result.err  # its only source could not be read
    assert set(site.hits) == {"/robots.txt"}  # asked (and retried), and nothing else
    errors = " ".join(e["error"] for e in result.json()["error_samples"])
    assert "robots.txt could not be fetched" in errors
    assert readouts("export").jsonl() == []


def test_a_source_being_crawled_by_another_process_is_refused(tmp_path: Path, serve, readouts) -> None:
    """Planted: the per-source lock not taken, two crawls of one source run at once."""
    site = serve("127.0.0.42", _one_article_site())
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
        f"[source.t]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n",
    )
    lock = source_lock(str(tmp_path / "archive.db"), "s")
    lock.acquire()
    try:
        refused = readouts("--sources", str(sources), "crawl", "s", "--json")
        assert refused.code == 1
        assert f"source 's' is held by process {os.getpid()}" in refused.err and "--wait" in refused.err
        assert "Traceback" not in refused.err
        assert site.hits == []
        other = readouts("--sources", str(sources), "crawl", "t", "--json")  # another source is not held up
        assert other.code == 0 and other.json()["new_documents"] == 1
    finally:
        lock.release()
    assert readouts("--sources", str(sources), "crawl", "s", "--json").code == 0


CONFIG_BASE = "[source.s]\nstart_urls = ['https://example.org/news/']\narticles = ['/a/']\n"


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("max_pages = 0", "max_pages"),  # at least 1
        ("max_pages = 2.5", "max_pages"),  # an integer key refuses a float
        ("concurrency = true", "concurrency"),  # TOML booleans are no numbers
        ("delay = false", "delay"),
        ("allowed_domains = ['example.org/news']", "allowed_domains"),
        ("allowed_domains = ['example.org:8080']", "allowed_domains"),
        ("allowed_domains = ['']", "allowed_domains"),
        ("every = '-1h'", "every"),
    ],
)
def test_config_refuses_values_just_past_each_bound(entry: str, key: str) -> None:
    """Planted: a bound moved by one, the bool or int check dropped, the host-name check dropped."""
    with pytest.raises(ConfigError) as info:
        parse_sources(CONFIG_BASE + entry + "\n")
    assert (info.value.source, info.value.key) == ("s", key)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[source.s]\narticles = ['/a/']\n", "start_urls"),  # no start at all
        ("[source.s]\nstart_urls = ['https:///news/']\narticles = ['/a/']\n", "start_urls"),  # no host
        ("[source.s]\nfeeds = ['http://']\narticles = ['/a/']\n", "feeds"),
    ],
)
def test_config_refuses_a_source_with_no_start_or_a_url_without_host(text: str, key: str) -> None:
    """Planted: the "at least one start" check dropped; `not parts.hostname` dropped from the URL check."""
    with pytest.raises(ConfigError) as info:
        parse_sources(text)
    assert info.value.key == key


def test_config_accepts_values_at_each_bound() -> None:
    """The other side of the bounds above: the smallest allowed values load."""
    entry = "max_pages = 1\nconcurrency = 1\ndelay = 0\nmax_depth = 0\nevery = '1s'\n"
    source = parse_sources(CONFIG_BASE + entry + "allowed_domains = ['example.org', '127.0.0.1']\n")["s"]
    assert (source.max_pages, source.concurrency, source.delay, source.max_depth) == (1, 1, 0.0, 0)
    assert source.every_seconds == 1 and source.allowed_domains == ("example.org", "127.0.0.1")
    only_feed = parse_sources("[source.f]\nfeeds = ['https://example.org/rss']\narticles = ['/a/']\n")["f"]
    assert only_feed.start_urls == () and only_feed.allowed_domains == ("example.org",)


def test_a_path_is_a_trap_from_one_segment_past_the_bound() -> None:
    """Planted: `> MAX_PATH_SEGMENTS` flipped to `>=`, or the constant moved."""
    deep = "/".join(f"d{i}" for i in range(MAX_PATH_SEGMENTS - 1))
    assert not looks_like_trap(f"http://h/{deep}/a.html")  # exactly MAX_PATH_SEGMENTS segments
    assert looks_like_trap(f"http://h/{deep}/x/a.html")
    assert not looks_like_trap("http://h/a/a/b.html") and looks_like_trap("http://h/a/b/a/c/a/d.html")


@pytest.mark.parametrize("name", ["utm_id", "UTM_Reader", "utm_"])
def test_every_utm_parameter_is_tracking_not_only_the_listed_ones(name: str) -> None:
    """Planted: the `utm_` prefix rule dropped (only the five common utm_ names listed would go)."""
    assert canonical_url(f"http://h/a.html?id=3&{name}=x") == canonical_url("http://h/a.html?id=3")


def test_retry_after_dates_without_a_zone_are_utc() -> None:
    """Planted: a `-0000` date (no zone, RFC 5322) compared with an aware now raises instead of being read."""
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Tue, 24 Nov 2026 12:01:30 -0000", now=now) == 90.0


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("\u2018a\u2019", "'a'"),
        ("\u201aa\u201b", "'a'"),
        ("a\u2032", "a'"),
        ("`a`", "'a'"),
        ("\u201ca\u201d", '"a"'),
        ("\u201ea\u201f", '"a"'),
        ("a\u2033", "a''"),  # NFKC makes a double prime two primes before the table is applied
        ("\u00aba\u00bb", '"a"'),
        ("a\u2010b\u2011c\u2012d", "a-b-c-d"),
        ("a\u2013b\u2014c\u2015d\u2212e", "a-b-c-d-e"),
        ("a\u3000b\u00a0\tc", "a b c"),
        ("  a  \n\n\n  b  ", "a\nb"),
    ],
)
def test_each_typographic_variant_normalises_to_its_plain_form(typed: str, plain: str) -> None:
    """Planted: one quote or dash dropped from the table: republished copies would hash apart."""
    assert normalise(typed) == plain
    assert content_hash(typed) == content_hash(plain)


def test_undelivered_events_stay_pending_per_group_and_since_resends(tmp_path: Path) -> None:
    """Planted: events marked sent on a failed delivery, a group's failure leaking to another, `--since` ignored."""
    webhook = Receiver()
    try:
        archive = Archive(tmp_path / "a.db")
        for n, source in enumerate(("up", "down", "up")):
            page = _page(f"http://h/{n}", f"Readout {n}.")
            archive.record(PageRecord(url=page.url, source=source, host="h", status=200, article=page.article))
        text = f"[source.up]\nstart_urls = ['http://h/']\narticles = ['/a/']\nnotify = ['{webhook.url}']\n"
        text += f"[source.down]\nstart_urls = ['http://h/']\narticles = ['/a/']\nnotify = ['json://127.0.0.1:{closed_port()}/x']\n"
        sources = list(parse_sources(text).values())
        assert deliver(archive, sources) == (2, 1)  # the two events of `up` went; the one of `down` stays pending
        assert len(webhook.posts) == 1
        sent = json.loads(webhook.posts[0][2])["message"]
        assert "http://h/0" in sent and "http://h/2" in sent and "http://h/1" not in sent
        assert deliver(archive, sources) == (0, 1)  # nothing twice; the failed one is tried again
        assert len(webhook.posts) == 1
        assert deliver(archive, sources, since="2000-01-01T00:00:00Z") == (2, 1)  # since: delivered ones again
        assert len(webhook.posts) == 2
        assert deliver(archive, sources, since="2999-01-01T00:00:00Z") == (0, 0)
    finally:
        webhook.shutdown()
        webhook.server_close()


def _backoff() -> tuple[BackoffMiddleware, list[str], list[float]]:
    """A backoff middleware on a bare crawler whose stop and hold-back are recorded instead of acted on."""
    crawler = get_crawler(Spider)
    crawler.spider = Spider.from_crawler(crawler, name="s")
    crawler.stats = StatsCollector(crawler)
    middleware, stops, holds = BackoffMiddleware(crawler), [], []
    middleware._stop = stops.append  # type: ignore[method-assign]
    middleware._hold_back = lambda request, pause: holds.append(pause)  # type: ignore[method-assign]
    return middleware, stops, holds


def _answer(middleware: BackoffMiddleware, status: int, retry_after: str | None = None) -> object:
    """Pass one answer through the middleware and return what it gives back."""
    request = Request("http://h/a.html")
    headers = {"Retry-After": retry_after} if retry_after else {}
    return middleware.process_response(request, HtmlResponse(request.url, status=status, headers=headers))


def test_only_403s_in_a_row_stop_a_source() -> None:
    """Planted: the reset on a good answer dropped (403s spread over a crawl add up), or `>=` flipped to `>`."""
    middleware, stops, _ = _backoff()
    for _ in range(BLOCKED_AFTER_403 - 1):
        _answer(middleware, 403)
    _answer(middleware, 200)
    for _ in range(BLOCKED_AFTER_403 - 1):
        _answer(middleware, 403)
    assert stops == []
    _answer(middleware, 403)
    assert len(stops) == 1 and stops[0].startswith(f"blocked: {BLOCKED_AFTER_403} HTTP 403 answers in a row")


def test_a_retry_after_up_to_the_bound_is_waited_for_and_one_second_more_stops() -> None:
    """Planted: `pause > MAX_RETRY_AFTER_S` flipped to `>=`, or the bound moved."""
    middleware, stops, holds = _backoff()
    assert isinstance(_answer(middleware, 429, str(int(MAX_RETRY_AFTER_S))), Request)  # retried after the pause
    assert holds == [MAX_RETRY_AFTER_S] and stops == []
    assert isinstance(_answer(middleware, 503, str(int(MAX_RETRY_AFTER_S) + 1)), HtmlResponse)
    assert holds == [MAX_RETRY_AFTER_S] and len(stops) == 1 and stops[0].startswith("deferred:")
    assert isinstance(_answer(middleware, 500, "5"), HtmlResponse) and len(holds) == 1  # only 429 and 503
