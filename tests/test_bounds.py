"""`max_pages` never cuts silently: a cut crawl says so, keeps where it stopped, and the next crawl resumes there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.cli.crawl_summary import summary_lines
from crawler.config.sources import load_sources
from crawler.run import RunResult
from spiders.bounds import ARTICLE, LISTING, Budget, most_overdue
from spiders.pipeline import RunTally
from spiders.settings import source_settings
from spiders.source_spider import SourceSpider
from storage.archive import Archive, FrontierEntry
from tests.conftest import write_sources
from tests.mockserver import Reply, Route, conditional
from tests.test_kill import article_html

ARTICLES, PER_LISTING = 30, 10


@pytest.mark.parametrize(
    ("articles", "listings", "kind", "allowed"),
    [
        (0, 0, ARTICLE, True),
        (9, 5, ARTICLE, True),
        (10, 0, ARTICLE, False),  # at most `limit` article pages
        (0, 9, LISTING, True),
        (0, 10, LISTING, False),  # an endless listing stops at the bound too
        (9, 0, LISTING, True),
        (10, 0, LISTING, False),  # no listing page once no article could be fetched from it
        (5, 5, LISTING, False),  # listings and articles together under the bound
        (5, 5, ARTICLE, True),  # ... but articles get the whole bound
    ],
)
def test_budget(articles: int, listings: int, kind: str, allowed: bool) -> None:
    assert Budget(10, articles=articles, listings=listings).allows(kind) is allowed


def test_budget_counts_each_kind() -> None:
    budget = Budget(2)
    budget.spend(ARTICLE)
    budget.spend(LISTING)
    assert (budget.articles, budget.listings) == (1, 1)


@pytest.mark.parametrize(
    ("due", "limit", "taken", "left"),
    [([1, 2, 3], 2, [1, 2], 1), ([1, 2], 5, [1, 2], 0), ([], 3, [], 0), ([1, 2, 3], 3, [1, 2, 3], 0)],
)
def test_most_overdue(due: list[int], limit: int, taken: list[int], left: int) -> None:
    assert most_overdue(due, limit) == (taken, left)


def test_the_frontier_is_replaced_by_each_crawl(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    archive.keep_frontier("s", [FrontierEntry("http://h/list/2", LISTING), FrontierEntry("http://h/a/9", ARTICLE)])
    archive.keep_frontier("t", [FrontierEntry("http://h/a/1", ARTICLE)])
    assert archive.frontier("s") == [FrontierEntry("http://h/list/2", LISTING), FrontierEntry("http://h/a/9", ARTICLE)]
    archive.keep_frontier("s", [])  # a crawl that ran to its end leaves nothing
    assert archive.frontier("s") == [] and len(archive.frontier("t")) == 1


def paged_site(serve, host: str) -> dict[str, Route]:  # type: ignore[no-untyped-def]
    """30 articles on three listing pages of ten, each linking the next; articles answer 304 to a re-check."""
    routes: dict[str, Route] = {f"/news/{n}.html": conditional(article_html(n)) for n in range(ARTICLES)}
    for page in range(ARTICLES // PER_LISTING):
        first = page * PER_LISTING
        links = "".join(f"<a href='/news/{n}.html'>x</a>" for n in range(first, first + PER_LISTING))
        more = f"<a href='/list/{page + 1}.html'>next</a>" if first + PER_LISTING < ARTICLES else ""
        routes[f"/list/{page}.html"] = Reply(f"<html><body>{links}{more}</body></html>".encode())
    return serve(host, routes)


def archived(db: Path) -> int:
    """Count the archived article pages with text."""
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from pages where content_hash is not null").fetchone()[0]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_crawls_bounded_at_ten_archive_thirty_articles(tmp_path: Path, serve, readouts) -> None:
    site = paged_site(serve, "127.0.0.73")
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.s]\nstart_urls = ['{site.url('/list/0.html')}']\nfollow = ['/list/']\narticles = ['/news/']\n"
        "delay = 0\nconcurrency = 4\nmax_pages = 10\n",
    )
    db = tmp_path / "archive.db"
    counts = []
    for crawl in range(3):
        result = readouts("--sources", str(sources), "crawl", "--json")
        assert result.code == 0, result.err
        summary = result.json()
        assert summary["new_documents"] == PER_LISTING, summary
        counts.append(archived(db))
        if crawl < 2:  # cut: it says so, and what it left
            assert summary["bounded"] == {"s": {"max_pages": 10, "resume_at": 1, "rechecks_left": 0}}, summary
        else:
            assert summary["bounded"] == {}, summary
    assert counts == [10, 20, 30]
    history = readouts("runs", "--json").jsonl()
    assert [bool(r["bounded"]) for r in history] == [False, True, True]  # newest first
    # re-checks are bounded on their own: the ten most overdue, and twenty stay due, said in the summary
    recheck = readouts("--sources", str(sources), "crawl", "--recheck", "--json")
    assert recheck.code == 0, recheck.err
    assert recheck.json()["rechecked"] == 10
    assert recheck.json()["bounded"]["s"]["rechecks_left"] == 20


def test_the_summary_says_what_a_bound_left() -> None:
    tally = RunTally(bounded={"s": {"max_pages": 10, "resume_at": 3, "rechecks_left": 20}})
    lines = summary_lines(RunResult(1, "ok", tally), 1, None)
    assert "  s: stopped at max_pages = 10: 3 pages left for the next crawl, which resumes there; 20 re-checks" in (
        "\n".join(lines)
    )


@pytest.mark.parametrize(("resumed", "followed"), [(False, []), (True, ["http://h/list/1.html"])])
def test_a_resumed_walk_goes_on_past_a_page_of_known_articles(tmp_path: Path, resumed: bool, followed: list) -> None:
    # new articles push the page a cut crawl stopped at down the listing: its walk must not stop on seen there
    text = "[source.s]\nstart_urls = ['http://h/list/0.html']\nfollow = ['/list/']\narticles = ['/news/']\n"
    source = load_sources(write_sources(tmp_path / "s.toml", text))["s"]
    crawler = get_crawler(SourceSpider.for_source(source, frozenset({"http://h/news/1.html"}), source_settings(source)))
    spider = crawler._create_spider()
    crawler.spider = spider
    body = b"<a href='/news/1.html'>x</a><a href='/list/1.html'>next</a>"
    request = Request("http://h/list/9.html", meta={"resumed": resumed})
    response = HtmlResponse(request.url, body=body, request=request)
    assert [r.url for r in spider._links(response)] == followed
