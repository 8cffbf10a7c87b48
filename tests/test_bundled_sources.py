"""The bundled sources file: valid, one definition for the embassy network, and each definition's patterns crawl
pages built to the documented structure of its site (real pages where we have them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.sources import Source, load_sources
from tests.conftest import write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply

BUNDLED = load_sources(Path(__file__).parent.parent / "crawler" / "config" / "sources.toml")

# sample URLs in each site's documented form (docs: sites.md): (source, article URLs, non-article URLs)
SAMPLES = [
    (
        "mfa-activities",
        ["https://www.fmprc.gov.cn/eng/xw/zyxw/202302/t20230221_11028748.html"],
        ["https://www.fmprc.gov.cn/eng/xw/zyxw/index_3.html"],
    ),
    (
        "mfa-minister",
        ["https://www.fmprc.gov.cn/eng/wjb/wjbz/hd/202405/t20240510_11302233.html"],
        ["https://www.fmprc.gov.cn/eng/wjb/wjbz/hd/index.html"],
    ),
    (
        "mfa-archive",
        ["https://www.fmprc.gov.cn/mfa_eng/zxxx_662805/t1665263.shtml"],
        ["https://www.fmprc.gov.cn/mfa_eng/zxxx_662805/default_2.shtml"],
    ),
    (
        "mfa-zh",
        ["https://www.fmprc.gov.cn/web/zyxw/t1638430.shtml"],
        ["https://www.fmprc.gov.cn/web/zyxw/default_1.shtml"],
    ),
    (
        "embassy-gr",
        ["https://gr.china-embassy.gov.cn/eng/zgyw/201806/t20180609_3028510.htm"],
        ["https://gr.china-embassy.gov.cn/eng/zgyw/index_2.htm"],
    ),
    (
        "kremlin-news",
        ["http://en.kremlin.ru/events/president/news/54971"],
        ["http://en.kremlin.ru/events/president/news/page/2", "http://en.kremlin.ru/events/president/news/54971/print"],
    ),
    ("kremlin-ru", ["http://kremlin.ru/events/president/news/54971"], ["http://kremlin.ru/events/president/news"]),
    (
        "mid-news",
        ["https://mid.ru/en/foreign_policy/news/1980212/"],
        ["https://mid.ru/en/foreign_policy/news/?PAGEN_1=2"],
    ),
    (
        "xinhua-latest",
        ["https://english.news.cn/20241121/8b3e6f2d9c4a4d0f9e1a2b3c4d5e6f70/c.html"],
        ["https://english.news.cn/list/latestnews.htm"],
    ),
    (
        "chinadaily-world",
        ["https://www.chinadaily.com.cn/a/202303/22/WS641a3b2ba31057c47ebb5d8e.html"],
        ["https://www.chinadaily.com.cn/world/page_2.html"],
    ),
    ("cidca-news", ["http://en.cidca.gov.cn/2024-11/21/c_1041317.htm"], ["http://en.cidca.gov.cn/news/index_1.htm"]),
]


def test_bundled_file_checks_and_covers_the_documented_sites(readouts) -> None:
    result = readouts("sources", "--check")
    assert result.code == 0 and "ok:" in result.out, result.err
    embassies = [name for name in BUNDLED if name.startswith("embassy-")]
    assert len(embassies) >= 20
    assert {name for name, _, _ in SAMPLES} <= set(BUNDLED)


@pytest.mark.parametrize(("name", "articles", "others"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_patterns_match_documented_urls(name: str, articles: list[str], others: list[str]) -> None:
    source = BUNDLED[name]
    assert all(source.is_article(url) for url in articles)
    assert not any(source.is_article(url) for url in others)


def test_a_family_entry_with_a_bad_host_is_refused(tmp_path: Path, readouts) -> None:
    path = write_sources(
        tmp_path / "s.toml", '[family.emb]\nhosts = ["a b"]\nstart_urls = ["https://{host}/"]\narticles = ["/t"]\n'
    )
    result = readouts("--sources", str(path), "sources", "--check")
    assert result.code == 2 and "'emb'" in result.err and "hosts" in result.err


def loopback_toml(source: Source, name: str, start: str) -> str:
    """The bundled definition of a source, pointed at a loopback fixture site."""

    def arr(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(f"'{v}'" for v in values) + "]"

    return (
        f"[source.{name}]\nstart_urls = ['{start}']\nfollow = {arr(source.follow)}\n"
        f"articles = {arr(source.articles)}\ndelay = 0\n"
    )


@pytest.mark.parametrize(
    ("name", "site", "start"),
    [
        ("mfa-activities", "ministry", "/eng/xw/zyxw/"),
        ("embassy-gr", "embassy", "/eng/zgyw/index.htm"),
        ("chinadaily-world", "portal", "/world/"),
        ("cidca-news", "agency", "/news/index.htm"),
    ],
)
def test_bundled_definition_crawls_its_site_structure(
    name: str, site: str, start: str, tmp_path: Path, serve, readouts
) -> None:
    pages = sites.build_site(site)
    routes = {path: Reply(page.body) for path, page in pages.items()}
    first = sites.listing_paths(site)[0]
    body = pages[first].body
    if site == "ministry":  # the real MFA draws its pager by script: only countPage tells of index_1.html
        body = body.replace(b'<a href="index_1.html">Next</a>', b"")
        assert b"index_1.html" not in body
    routes[start] = Reply(body)
    server = serve(
        {"ministry": "127.0.0.2", "embassy": "127.0.0.3", "portal": "127.0.0.4", "agency": "127.0.0.5"}[site], routes
    )
    path = write_sources(tmp_path / "s.toml", loopback_toml(BUNDLED[name], name, server.url(start)))
    result = readouts("--sources", str(path), "crawl", "--json")
    assert result.code == 0, result.err
    exported = {r["url"] for r in readouts("export").jsonl()}
    assert exported == {server.url(a.path) for a in sites.articles(site)}


REAL = Path(__file__).parent / "data" / "real"


def page(title: str, body: str, head: str = "") -> bytes:
    """A page with a header menu, the article and a footer."""
    menu = '<div class="nav"><a href="/">Home</a> <a href="/news/">News</a> <a href="/about/">About</a></div>'
    return (
        f'<html><head><meta charset="utf-8"><title>{title}</title>{head}</head><body>{menu}{body}'
        f"<footer><p>Copyright © 2024. All rights reserved.</p></footer></body></html>"
    ).encode()


def listing(links: list[str], item: str = '<li><a href="{href}">{text}</a></li>') -> bytes:
    """A listing page linking the given paths."""
    rows = "".join(item.format(href=href, text=f"Readout {n}") for n, href in enumerate(links))
    return page("News", f'<ul id="list">{rows}</ul>')


def filler_html(n: int, title_tag: str, body_wrap: str) -> bytes:
    """A made-up readout in a given title and body markup."""
    from tests.fixtureweb.fillers import FILLERS as ALL

    f = ALL[n % len(ALL)]
    paras = "".join(f"<p>{line}</p>" for line in f.body)
    return page(
        f.title,
        title_tag.format(title=f.title) + body_wrap.format(body=paras),
        head=f'<meta name="publishdate" content="{f.date}">',
    )


def structured_site(name: str) -> tuple[str, dict[str, Reply], set[str]]:
    """Build pages in the documented structure of a bundled source: (start path, routes, article paths)."""
    if name == "mfa-zh":  # the real Chinese pages (old /web/ template), under a listing of their kind
        articles = {
            f"/web/zyxw/{p.stem.split('_')[-1]}.shtml": p.read_bytes()
            for p in sorted((REAL / "fmprc_zh_2019").glob("fmprc_web_zyxw_*.html"))
        }
        start = "/web/zyxw/"
        routes = {start: Reply(listing([f"./{p.rsplit('/', 1)[1]}" for p in articles]))}
    elif name in ("mfa-minister", "mfa-archive"):
        base = "/eng/wjb/wjbz/hd/" if name == "mfa-minister" else "/mfa_eng/zxxx_662805/"
        paths = [
            f"{base}202405/t2024051{n}_1130223{n}.html" if name == "mfa-minister" else f"{base}t166526{n}.shtml"
            for n in range(3)
        ]
        articles = {}
        for n, path in enumerate(paths):
            f = sites.articles("ministry")[2 + n % 2]
            articles[path] = sites.render_article(
                "ministry",
                sites.FixtureArticle(
                    "ministry", path, None, f.title + f" ({n})", "2024-05-10", (*f.body_lines, f"Readout number {n}.")
                ),
            )
        start = base
        routes = {start: Reply(listing(paths))}
    elif name == "mid-news":
        paths = [f"/en/foreign_policy/news/198021{n}/" for n in range(3)]
        articles = {
            p: filler_html(
                n,
                '<h1 class="photo-content__title">{title}</h1><div class="photo-content__date">20.08.2026</div>',
                '<div class="text article-content">{body}</div>',
            )
            for n, p in enumerate(paths)
        }
        start = "/en/foreign_policy/news/"
        routes = {start: Reply(listing(paths, '<a class="announce__link" href="{href}">{text}</a>'))}
    elif name == "xinhua-latest":
        paths = [f"/2024112{n}/{n}b3e6f2d9c4a4d0f9e1a2b3c4d5e6f70/c.html" for n in range(3)]
        articles = {
            p: filler_html(
                n + 3, '<div class="conTop"><h1>{title}</h1></div>', '<span id="detailContent">{body}</span>'
            )
            for n, p in enumerate(paths)
        }
        start = "/list/latestnews.htm"
        routes = {
            start: Reply(listing(paths, '<div class="item"><div class="tit"><a href="{href}">{text}</a></div></div>'))
        }
    else:  # kremlin-news, kremlin-ru: the real Atom feed, its entries served with real article pages
        feed = (REAL / "kremlin_en_2020" / "news_feed.atom.xml").read_bytes()
        start = "/events/president/news"
        routes = {start: Reply(listing([])), f"{start}/feed": Reply(feed, content_type="application/atom+xml")}
        ids = sorted(set(__import__("re").findall(rb"/events/president/news/(\d+)", feed)))
        bodies = [(REAL / "kremlin_en_2020" / f"{n}.html").read_bytes() for n in ("54971", "54969", "17725")]
        # three of the feed's entries served with the three real readouts (the others answer 404: failed pages)
        articles = {f"{start}/{i.decode()}": body for i, body in zip(ids, bodies, strict=False)}
    routes.update({path: Reply(body) for path, body in articles.items()})
    return start, routes, set(articles)


@pytest.mark.parametrize(
    "name", ["mfa-zh", "mfa-minister", "mfa-archive", "mid-news", "xinhua-latest", "kremlin-news", "kremlin-ru"]
)
def test_other_bundled_definitions_crawl_their_site_structure(name: str, tmp_path: Path, serve, readouts) -> None:
    start, routes, articles = structured_site(name)
    server = serve("127.0.0.6", routes)
    source = BUNDLED[name]
    toml = loopback_toml(source, name, server.url(start))
    if source.feeds:
        feed = routes[f"{start}/feed"]
        host = b"http://kremlin.ru" if name == "kremlin-ru" else b"http://en.kremlin.ru"
        routes[f"{start}/feed"] = Reply(
            feed.body.replace(b"http://en.kremlin.ru", server.base.encode()).replace(host, server.base.encode()),
            content_type="application/atom+xml",
        )
        toml += f"feeds = ['{server.url(start + '/feed')}']\n"
    path = write_sources(tmp_path / "s.toml", toml)
    result = readouts("--sources", str(path), "crawl", "--json")
    assert result.code == 0, result.err
    exported = {r["url"]: r for r in readouts("export").jsonl()}
    assert set(exported) == {server.url(p) for p in articles}, result.json()
    assert all(r["text"] and r["published"] for r in exported.values())
