"""The re-check ladder and which known pages are due."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crawler.config.sources import load_sources
from spiders.settings import source_settings
from spiders.source_spider import SourceSpider
from storage.archive import Archive, ArticleText, PageRecord
from storage.recheck import next_check
from tests.conftest import write_sources


def test_ladder_grows_then_settles_on_recheck_every() -> None:
    base = "2026-01-01T00:00:00Z"
    assert next_check(base, base) == "2026-01-01T01:00:00Z"
    assert next_check(base, "2026-01-01T01:00:05Z") == "2026-01-01T06:00:00Z"
    assert next_check(base, "2026-01-01T06:00:00Z") == "2026-01-02T00:00:00Z"
    assert next_check(base, "2026-01-02T00:00:00Z") == "2026-01-04T00:00:00Z"
    assert next_check(base, "2026-01-04T00:00:00Z") == "2026-01-08T00:00:00Z"
    assert next_check(base, "2026-01-08T00:00:00Z") == "2026-01-15T00:00:00Z"
    assert next_check(base, "2026-01-15T00:00:00Z") == "2026-02-14T00:00:00Z"  # then every 30 days
    assert next_check(base, "2026-03-01T00:00:00Z", recheck_every=86400) == "2026-03-02T00:00:00Z"
    # a crawl that was down for a week skips the rungs it missed
    assert next_check(base, "2026-01-05T12:00:00Z") == "2026-01-08T00:00:00Z"


def page(url: str, text: str, at: str) -> PageRecord:
    """A fetched page with text."""
    art = ArticleText(content_hash=text, text=text, title="t")
    return PageRecord(url=url, source="s", host="h", status=200, article=art, fetched_at=at, etag='"e1"')


def test_due_pages_follow_the_ladder_and_a_change_restarts_it(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    archive.record(page("http://h/1", "one", "2026-01-01T00:00:00Z"))
    archive.record(page("http://h/2", "two", "2026-01-01T00:30:00Z"))
    assert archive.due_pages("s", "2026-01-01T00:59:00Z") == []
    due = archive.due_pages("s", "2026-01-01T01:00:00Z")
    assert [d.url for d in due] == ["http://h/1"] and due[0].etag == '"e1"'
    assert len(archive.due_pages("s", "2026-01-01T00:00:00Z", every=True)) == 2
    # page 1 re-checked at 01:00 unchanged: next at 06:00; changed at 05:00: back to first rung (06:00 -> 06:00)
    archive.record(page("http://h/1", "one", "2026-01-01T01:00:00Z"))
    assert [d.url for d in archive.due_pages("s", "2026-01-01T05:59:00Z")] == ["http://h/2"]
    outcome, _ = archive.record(page("http://h/1", "one, edited", "2026-01-01T07:00:00Z"))
    assert outcome == "changed"
    assert "http://h/1" not in [d.url for d in archive.due_pages("s", "2026-01-01T07:59:00Z")]
    assert "http://h/1" in [d.url for d in archive.due_pages("s", "2026-01-01T08:00:00Z")]


def test_rechecks_are_conditional_requests(tmp_path: Path) -> None:
    text = "[source.s]\nstart_urls = ['http://127.0.0.1/news/']\narticles = ['/a/']\n"
    source = load_sources(write_sources(tmp_path / "s.toml", text))["s"]
    due = (("http://127.0.0.1/a/1.html", '"e1"', None),)
    spider = SourceSpider.for_source(source, frozenset(), source_settings(source), due=due, full=False)()
    first = asyncio.run(anext(spider.start()))
    assert first.meta["recheck"] and first.headers[b"If-None-Match"] == b'"e1"'
