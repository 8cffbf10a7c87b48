"""Real saved pages of en.kremlin.ru served on loopback: a day listing, its articles, the Atom feed, a sitemap."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import DATA, write_sources
from tests.mockserver import Reply

KREMLIN = DATA / "real" / "kremlin_en_2020"
NEWS = "/events/president/news"
ARTICLES = {"54969", "54971", "54979"}  # the real article pages we have, linked from the 04.07.2017 day listing


def kremlin_routes() -> dict[str, Reply]:
    """The real day listing and articles at the paths their relative links resolve to."""
    routes: dict[str, Reply] = {
        "/robots.txt": Reply(b"User-agent: *\nDisallow: /search\n", content_type="text/plain"),
        f"{NEWS}/by-date/04.07.2017": Reply((KREMLIN / "by-date_04.07.2017.html").read_bytes()),
    }
    for article in ARTICLES:
        routes[f"{NEWS}/{article}.html"] = Reply((KREMLIN / f"{article}.html").read_bytes())
    return routes


def kremlin_source(base: str, **keys: str) -> str:
    """A sources entry for the served Kremlin pages."""
    extra = "".join(f"{k} = {v}\n" for k, v in keys.items())
    return f"[source.kremlin]\narticles = ['{NEWS}/\\d+(\\.html)?$']\ndelay = 0\n{extra}"


def test_real_day_listing_and_articles(tmp_path: Path, serve, readouts) -> None:
    site = serve("127.0.0.7", kremlin_routes())
    sources = write_sources(
        tmp_path / "s.toml", kremlin_source(site.base, start_urls=f"['{site.url(NEWS)}/by-date/04.07.2017']")
    )
    out = readouts("--sources", str(sources), "crawl", "--json")
    assert out.code == 0, out.err
    counts = out.json()
    linked = 21  # distinct article links on the real page
    assert counts["pages_fetched"] == linked
    assert counts["new_documents"] == len(ARTICLES)
    assert counts["failed"] == linked - len(ARTICLES)  # the pages we do not have answer 404
    rows = {r["url"].rsplit("/", 1)[1]: r for r in readouts("export").jsonl()}
    assert set(rows) == {f"{a}.html" for a in ARTICLES}
    talks = rows["54971.html"]
    assert talks["title"] == "Russian-Chinese talks"
    assert talks["published"] == "2017-07-04"
    assert "Xi Jinping" in talks["text"]
    assert "President of Russia" not in talks["text"].splitlines()  # site name / menus not in the body
    # the day listing's many links to kremlin.ru hosts were not followed (offsite); robots.txt was read first
    assert site.hits[0] == "/robots.txt"


def test_atom_feed_lists_articles(tmp_path: Path, serve, readouts) -> None:
    routes = kremlin_routes()
    site = serve("127.0.0.8", routes)
    feed = (KREMLIN / "news_feed.atom.xml").read_bytes().replace(b"http://en.kremlin.ru", site.base.encode())
    routes[f"{NEWS}/feed"] = Reply(feed, content_type="application/atom+xml")
    sources = write_sources(tmp_path / "s.toml", kremlin_source(site.base, feeds=f"['{site.url(NEWS)}/feed']"))
    out = readouts("--sources", str(sources), "crawl", "--json")
    assert out.code == 0, out.err
    entries = {h for h in site.hits if h.startswith(f"{NEWS}/6")}
    assert len(entries) == 20  # every entry of the real feed was requested once
    assert out.json()["failed"] == 20  # none of them is in our saved pages: 404, recorded as failed


@pytest.mark.parametrize("gzipped", [False, True])
def test_sitemap_index_and_urlset(tmp_path: Path, serve, readouts, gzipped: bool) -> None:
    routes = kremlin_routes()
    site = serve("127.0.0.9", routes)
    urlset = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{site.url(NEWS)}/{a}.html</loc></url>" for a in sorted(ARTICLES))
        + f"<url><loc>{site.url('/about')}</loc></url><url><loc>http://elsewhere.example{NEWS}/1.html</loc></url>"
        + "</urlset>"
    ).encode()
    index = (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-news.xml' + ('.gz' if gzipped else ''))}</loc></sitemap></sitemapindex>"
    ).encode()
    routes["/sitemap.xml"] = Reply(index, content_type="application/xml")
    if gzipped:
        routes["/sitemap-news.xml.gz"] = Reply(gzip.compress(urlset), content_type="application/gzip")
    else:
        routes["/sitemap-news.xml"] = Reply(urlset, content_type="application/xml")
    sources = write_sources(tmp_path / "s.toml", kremlin_source(site.base, sitemaps=f"['{site.url('/sitemap.xml')}']"))
    out = readouts("--sources", str(sources), "crawl", "--json")
    assert out.code == 0, out.err
    assert out.json()["new_documents"] == len(ARTICLES) and out.json()["failed"] == 0
    assert "/about" not in site.hits
