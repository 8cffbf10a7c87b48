"""End to end: the real CLI crawls four fixture sites on loopback into a real archive file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLIResult, cli, cli_here, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, SiteServer

HOSTS = {"ministry": "127.0.0.2", "embassy": "127.0.0.3", "portal": "127.0.0.4", "agency": "127.0.0.5"}
PATTERNS = {
    "ministry": (
        ["/eng/xw/zyxw/index.html"],
        [r"/eng/xw/zyxw/index_\d+\.html$"],
        [r"/eng/xw/zyxw/\d{6}/t\d{8}_\d+\.html$"],
    ),
    "embassy": (["/eng/zgyw/index.htm"], [r"/eng/zgyw/index_\d+\.htm$"], [r"/eng/zgyw/\d{6}/t\d{8}_\d+\.htm$"]),
    "portal": (["/world/page_1.html"], [r"/world/page_\d+\.html$"], [r"/a/\d{6}/\d{2}/WS[0-9a-f]{24}\.html$"]),
    "agency": (["/news/index.htm"], [r"/news/index(_\d+)?\.htm$"], [r"/\d{4}-\d{2}/\d{2}/c_\d+\.htm$"]),
}


def toml_list(values: list[str]) -> str:
    """Render a TOML array of literal strings."""
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def sources_toml(servers: dict[str, SiteServer]) -> str:
    """Return a sources file for the fixture sites."""
    out = []
    for name, server in servers.items():
        starts, follow, articles = PATTERNS[name]
        out.append(
            f"[source.{name}]\nstart_urls = {toml_list([server.url(p) for p in starts])}\n"
            f"follow = {toml_list(follow)}\narticles = {toml_list(articles)}\ndelay = 0\n"
        )
    return "\n".join(out)


def start_sites() -> dict[str, SiteServer]:
    """Serve every fixture site on its own loopback address."""
    servers = {}
    for name, host in HOSTS.items():
        routes = {
            path: Reply(page.body, page.status, page.content_type) for path, page in sites.build_site(name).items()
        }
        servers[name] = SiteServer(host, routes).start()
    return servers


class Crawled:
    """A fixture web crawled twice (real `readouts crawl` processes), and the CLI to query it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers = start_sites()
        self.sources = write_sources(tmp / "sources.toml", sources_toml(self.servers))
        self.db = tmp / "archive.db"
        self.first = cli(self.db, "crawl", "--json", sources=self.sources)
        self.second = cli(self.db, "crawl", "--json", sources=self.sources)

    def cli(self, *args: str) -> CLIResult:
        """A read command on the crawled archive, in this process: the crawls above are the processes under test."""
        return cli_here(self.db, *args, sources=self.sources)

    def url(self, article: Any) -> str:
        return self.servers[article.site].url(article.path)

    def export(self) -> dict[str, dict[str, Any]]:
        return {r["url"]: r for r in self.cli("export").jsonl()}

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    web = Crawled(tmp_path_factory.mktemp("web"))
    yield web
    web.close()


def all_articles() -> list[Any]:
    return [a for name in HOSTS for a in sites.articles(name)]


def test_crawl_reports_counts_as_json(crawled: Crawled) -> None:
    out = crawled.first.json()
    assert crawled.first.code == 0, crawled.first.err
    expected = {"run_id", "pages_fetched", "new_pages", "new_documents", "duplicates", "failed", "errors"}
    assert expected <= set(out)
    n = len(all_articles())
    assert out["pages_fetched"] == n and out["new_pages"] == n and out["failed"] == 0
    assert out["new_documents"] + out["duplicates"] == n
    assert out["duplicates"] >= 2  # seed 000 on three sites


def test_every_article_is_archived_and_no_listing_page(crawled: Crawled) -> None:
    exported = crawled.export()
    assert set(exported) == {crawled.url(a) for a in all_articles()}
    with sqlite3.connect(crawled.db) as db:
        urls = [r[0] for r in db.execute("select url from pages")]
    for name, server in crawled.servers.items():
        for path in sites.listing_paths(name):
            assert server.url(path) not in urls
    # every listing page of every site was read (pagination followed), and each article fetched once
    for name, server in crawled.servers.items():
        for path in sites.listing_paths(name):
            assert path in server.hits
        # the ministry links one article from every listing page: still fetched once, and never again on the
        # second crawl, which reads only the listings
        for article in sites.articles(name):
            assert server.hits.count(article.path) == 1, (name, article.path)


def test_seed_000_on_three_sites_is_one_document_with_three_copies(crawled: Crawled) -> None:
    copies = [a for a in all_articles() if a.seed and a.seed.startswith("000")]
    assert {a.site for a in copies} >= {"ministry", "embassy", "portal"}
    exported = crawled.export()
    ids = {exported[crawled.url(a)]["document_id"] for a in copies}
    assert len(ids) == 1
    docs = {d["document_id"]: d for d in crawled.cli("documents", "--json").jsonl()}
    doc = docs[ids.pop()]
    assert sorted(c["source"] for c in doc["copies"]) == sorted(a.site for a in copies)


def test_five_seeds_are_five_documents(crawled: Crawled) -> None:
    exported = crawled.export()
    by_seed: dict[str, set[int]] = {}
    for article in all_articles():
        if article.seed:
            by_seed.setdefault(article.seed[:3], set()).add(exported[crawled.url(article)]["document_id"])
    assert sorted(by_seed) == ["000", "001", "002", "003", "004"]
    assert all(len(ids) == 1 for ids in by_seed.values())
    assert len({next(iter(ids)) for ids in by_seed.values()}) == 5


def test_archived_text_is_the_seed_minus_its_boilerplate(crawled: Crawled) -> None:
    exported = crawled.export()
    for article in all_articles():
        record = exported[crawled.url(article)]
        lines = record["text"].splitlines()
        if article.seed:
            for junk in sites.seed_boilerplate(article.seed):
                assert junk.strip() not in lines, (article.path, junk)
        assert lines == list(article.body_lines), article.path
        assert record["published"] == article.date, article.path


def test_second_crawl_of_unchanged_web_adds_nothing(crawled: Crawled) -> None:
    second = crawled.second.json()
    assert crawled.second.code == 0
    assert second["new_pages"] == 0 and second["new_documents"] == 0
    with sqlite3.connect(crawled.db) as db:
        assert db.execute("select count(*) from pages").fetchone()[0] == len(all_articles())


def test_runs_history(crawled: Crawled) -> None:
    runs = crawled.cli("runs", "--json").jsonl()
    assert len(runs) >= 2
    fields = {
        "run_id",
        "sources",
        "trigger",
        "started",
        "finished",
        "status",
        "pages_fetched",
        "new_documents",
        "failed",
        "errors",
    }
    for run in runs:
        assert fields <= set(run)
        assert run["status"] == "ok" and run["trigger"] == "manual" and run["started"].endswith("Z")
        assert sorted(run["sources"]) == sorted(HOSTS)
    text = crawled.cli("runs")
    assert text.code == 0 and " ok " in text.out


def test_search_and_export_formats(crawled: Crawled) -> None:
    hits = crawled.cli("search", "Great Wall Motors", "--json").jsonl()
    assert len(hits) == 1 and "[Great] [Wall] [Motors]" in hits[0]["snippet"]
    assert len(hits[0]["copies"]) == 3
    assert crawled.cli("search", "Borovitskaya", "--source", "agency", "--json").jsonl() == []
    every = crawled.cli("search", "Putin", "--json").jsonl()
    in_2022 = crawled.cli("search", "Putin", "--since", "2022-01-01", "--until", "2022-12-31", "--json").jsonl()
    assert in_2022 and all(h["published"].startswith("2022-") for h in in_2022), in_2022
    assert {h["document_id"] for h in in_2022} == {
        h["document_id"] for h in every if (h["published"] or "").startswith("2022-")
    }
    assert len(every) > len(in_2022)  # the dates filtered something out
    day = in_2022[0]["published"]
    on_day = crawled.cli("search", "Putin", "--since", day, "--until", day, "--json").jsonl()
    assert day in {h["published"] for h in on_day}  # both bounds include their day
    human = crawled.cli("search", "Qingdao Summit")
    assert human.code == 0 and "Qingdao" in human.out
    csv_out = crawled.cli("export", "--format", "csv", "--source", "embassy")
    header = csv_out.out.splitlines()[0].split(",")
    assert header[:10] == [
        "url",
        "source",
        "title",
        "published",
        "language",
        "text",
        "content_hash",
        "document_id",
        "first_seen",
        "last_checked",
    ]
    jl = crawled.cli("export", "--source", "agency").jsonl()
    assert jl and {r["source"] for r in jl} == {"agency"}


def test_meetings_of_the_crawled_web(crawled: Crawled) -> None:
    found = crawled.cli("meetings", "--participant", "习近平", "--json").jsonl()
    xi_putin = {m["date"]: m for m in found if m["participants"] == ["Vladimir Putin", "Xi Jinping"]}
    assert sorted(xi_putin) == ["2014-05-20", "2018-06-08", "2019-06-05", "2022-02-04", "2023-03-21"]
    moscow = xi_putin["2019-06-05"]
    assert moscow["kind"] == "talks" and moscow["place"] == "Moscow"
    assert len(moscow["documents"]) == 1  # seed 000 on three sites is one document
    assert {"document_id", "title", "url", "source", "language"} <= set(moscow["documents"][0])
    in_2023 = crawled.cli("meetings", "--since", "2023-01-01", "--until", "2023-12-31", "--json").jsonl()
    assert in_2023 and all(m["date"].startswith("2023-") for m in in_2023), in_2023
    assert "2023-03-21" in {m["date"] for m in in_2023} and len(found) > len(in_2023)
    on_day = crawled.cli("meetings", "--since", "2023-03-21", "--until", "2023-03-21", "--json").jsonl()
    assert {m["date"] for m in on_day} == {"2023-03-21"}  # both bounds include their day
    assert crawled.cli("meetings", "--participant", "Nobody").code == 1
    exported = crawled.cli("export").jsonl()
    assert all("story_id" in r and "meeting_id" in r for r in exported)
