"""`sources --new` proposes an entry from a listing page; `sources --try` previews a source, writing nothing."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from crawler.config.propose import propose, shape
from tests.conftest import DATA, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply

KREMLIN = DATA / "real" / "kremlin_en_2020"
NEWS = "/events/president/news"
HOSTS = {"ministry": "127.0.0.21", "embassy": "127.0.0.22", "portal": "127.0.0.23", "agency": "127.0.0.24"}


def _entry(toml: str, name: str) -> dict[str, Any]:
    """The proposed entry, parsed as the sources file would be."""
    return tomllib.loads(toml)["source"][name]


def _files(root: Path) -> set[Path]:
    """Every path under root."""
    return set(root.rglob("*"))


def _try(readouts: Any, tmp_path: Path, name: str, proposal: str, pages: int) -> Any:
    """Write the proposal (no delay) as a sources file and dry-run it; assert nothing else was written."""
    sources = write_sources(tmp_path / f"{name}.toml", proposal.replace("delay = 2.0", "delay = 0"))
    before = _files(tmp_path)
    result = readouts("--sources", str(sources), "sources", "--try", name, "--max-pages", str(pages))
    assert result.code == 0, result.err
    assert _files(tmp_path) == before  # no archive, no captures, no locks: a dry run writes nothing
    return result


@pytest.mark.parametrize(
    "site",
    [
        "ministry",
        "portal",
        pytest.param("embassy", marks=pytest.mark.slow),
        pytest.param("agency", marks=pytest.mark.slow),
    ],
)
def test_new_then_try_on_the_fixture_sites(tmp_path: Path, serve, readouts, site: str) -> None:
    routes = {path: Reply(page.body, page.status, page.content_type) for path, page in sites.build_site(site).items()}
    server = serve(HOSTS[site], routes)
    first, second = (server.url(p) for p in sites.listing_paths(site)[:2])
    new = readouts("sources", "--new", site, first)
    assert new.code == 0, new.err
    entry = _entry(new.out, site)
    assert entry["start_urls"] == [first]
    listed = routes[sites.listing_paths(site)[0]].body.decode()
    linked = [a for a in sites.articles(site) if a.path.rsplit("/", 1)[1] in listed]
    assert linked and all(re.search(entry["articles"][0], server.url(a.path)) for a in linked), entry
    assert not re.search(entry["articles"][0], second)  # a listing page is not an article
    assert any(re.search(p, second) for p in entry["follow"]), entry  # pagination is followed
    preview = _try(readouts, tmp_path, site, new.out, pages=6).out
    assert f"{first} (200)" in preview and f"{second} (200)" in preview
    assert "links that would be archived as articles" in preview
    shown = re.search(r"one article: (\S+)\n  title: (.+)\n  date: (\S+)\n  \| (.+)", preview)
    assert shown, preview
    article = next(a for a in sites.articles(site) if server.url(a.path) == shown[1])
    assert shown[2] == article.title and shown[4][:40] == article.body_lines[0][:40]


def test_new_then_try_on_real_kremlin_pages(tmp_path: Path, serve, readouts) -> None:
    routes = {
        "/robots.txt": Reply(b"User-agent: *\nDisallow: /search\n", content_type="text/plain"),
        f"{NEWS}/by-date/04.07.2017": Reply((KREMLIN / "by-date_04.07.2017.html").read_bytes()),
        **{f"{NEWS}/{n}.html": Reply((KREMLIN / f"{n}.html").read_bytes()) for n in ("54969", "54971", "54979")},
    }
    server = serve("127.0.0.25", routes)
    listing = server.url(f"{NEWS}/by-date/04.07.2017")
    new = readouts("sources", "--new", "kremlin", listing)
    assert new.code == 0, new.err
    entry = _entry(new.out, "kremlin")
    assert all(re.search(entry["articles"][0], server.url(f"{NEWS}/{n}.html")) for n in ("54969", "54971", "54979"))
    preview = _try(readouts, tmp_path, "kremlin", new.out, pages=25).out
    assert re.search(r"links that would be archived as articles \((\d+)\)", preview)
    assert "  title: " in preview and "  date: 2017-07-0" in preview, preview


@pytest.mark.slow
def test_new_and_try_refuse_a_page_they_cannot_fetch(tmp_path: Path, readouts) -> None:
    result = readouts("sources", "--new", "gone", "http://127.0.0.26:9/news/")
    assert result.code == 1 and "could not fetch http://127.0.0.26:9/news/" in result.err
    assert "Traceback" not in result.err and result.out == ""
    sources = write_sources(
        tmp_path / "s.toml",
        "[source.gone]\nstart_urls = ['http://127.0.0.26:9/news/']\narticles = ['/a/']\ndelay = 0\n",
    )
    tried = readouts("--sources", str(sources), "sources", "--try", "gone")
    assert tried.code == 1 and "no listing page, feed or sitemap of gone could be fetched" in tried.err
    assert "Traceback" not in tried.err


def test_try_takes_one_known_source(tmp_path: Path, readouts) -> None:
    sources = write_sources(
        tmp_path / "s.toml", "[source.a]\nstart_urls = ['http://127.0.0.1:9/']\narticles = ['/a/']\n"
    )
    assert readouts("--sources", str(sources), "sources", "--try", "nope").code == 2
    assert readouts("--sources", str(sources), "sources", "--try").code == 2


PAGE = b"""<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml"></head><body>
<a href="/news/2024/05/01/xi-holds-talks-with-putin-123.html">Xi holds talks with Putin</a>
<a href="/news/2024/05/02/wang-yi-calls-lavrov-124.html">Wang Yi calls Sergey Lavrov</a>
<a href="/news/2024/04/30/a-visit-to-moscow-99.html">A visit to Moscow ends</a> <a href="/about/">About</a>
<a href="/sitemap.xml">Map</a> <a href="/news/2024/">2024</a> <a href="/news/2023/">2023</a>
<a href="/news/2022/">2022</a> <a href="/news/2021/">2021</a>
<a href="/news/?page=2">Next</a> <a href="https://elsewhere.org/news/2024/05/01/x-1.html">x</a></body></html>"""


def test_propose_from_a_listing_page() -> None:
    found = propose("site", "http://127.0.0.1/news/", PAGE)
    assert found.articles == r"/news/\d{4}/\d{2}/\d{2}/[\w\-]+\.html$"  # the headlines, not the year menu
    assert (found.article_links, found.links) == (3, 10)
    assert found.feeds == ("http://127.0.0.1/rss.xml",) and found.sitemaps == ("http://127.0.0.1/sitemap.xml",)
    assert found.follow == (r"/news/\?page=\d+$",)
    assert shape("http://h/a/WS5c9b1ddca3104842260b3a4e.html") == r"/a/WS[0-9a-f]+\.html"


def test_propose_follows_a_pager_drawn_by_script() -> None:
    page = PAGE.replace(b'<a href="/news/?page=2">Next</a>', b"<script>var countPage = 25;</script>")
    assert propose("s", "http://127.0.0.1/eng/xw/index.html", page).follow == (r"/eng/xw/index_\d+\.html$",)
    assert propose("s", "http://127.0.0.1/news/", page.replace(b"countPage", b"count")).follow == ()
