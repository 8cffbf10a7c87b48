"""A fixture web of four sites in four realistic templates (see /design/sites.md), holding the seed readouts.

- ministry: the MFA's English site (TRS CMS: ArticleTitle/PubDate meta, #News_Body_Txt_A, "Suggest to a Friend:").
- embassy: an embassy in the same CMS family, with layout tables, a long menu bar and "Suggest To A Friend".
- portal: a news portal with inline "See also" links in the body and an app-download line.
- agency: a development agency reposting MFA readouts, with image file names, a source line and ICP footers.
Seed 000 is republished on ministry, embassy and portal, under a slightly different headline on the portal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape

from tests.fixtureweb.fillers import FILLERS
from tests.fixtureweb.seeds import seed


@dataclass(frozen=True)
class Page:
    """One served page."""

    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True)
class FixtureArticle:
    """An article of a fixture site: where it is, what it holds, and which seed (if any) it republishes."""

    site: str
    path: str
    seed: str | None
    title: str
    date: str  # YYYY-MM-DD as the page shows it
    body_lines: tuple[str, ...]


SEE_ALSO = [
    "New Zealand fights to save its flightless national bird",
    "Saudi Arabia launches new digital platform to facilitate pilgrims worldwide",
    "IS ‘caliphate’ on brink of defeat in Syria",
    "Floods cut roads across the north of the island",
    "Central bank keeps its policy rate unchanged",
    "Marathon draws record field of runners",
]

# (site, seed id or filler index, date shown, headline override)
_PLACEMENT: dict[str, list[tuple[str | int, str, str | None]]] = {
    "ministry": [("000", "2019-06-06", None), ("002", "2014-05-21", None), (0, "", None), (1, "", None)],
    "embassy": [("000", "2019-06-10", None), ("001", "2018-06-09", None), (2, "", None), (3, "", None)],
    "portal": [
        ("000", "2019-06-06", "Xi Jinping holds talks with Putin at the Kremlin"),
        ("003", "2023-03-22", None),
        (4, "", None),
        (5, "", None),
    ],
    "agency": [("004", "2022-02-05", None), (6, "", None), (7, "", None), (8, "", None)],
}


def _number(site: str, index: int) -> int:
    """Return a CMS-style article number."""
    return 600000 + 1000 * list(_PLACEMENT).index(site) + index


def _path(site: str, date: str, index: int) -> str:
    """Return the article URL path in the site's scheme."""
    y, m, d = date.split("-")
    n = _number(site, index)
    if site == "ministry":
        return f"/eng/xw/zyxw/{y}{m}/t{y}{m}{d}_{n}.html"
    if site == "embassy":
        return f"/eng/zgyw/{y}{m}/t{y}{m}{d}_{n}.htm"
    if site == "portal":
        return f"/a/{y}{m}/{d}/WS{hashlib.sha1(f'{site}{n}'.encode()).hexdigest()[:24]}.html"
    return f"/{y}-{m}/{d}/c_{n}.htm"


def articles(site: str) -> list[FixtureArticle]:
    """Return the articles of one fixture site, newest listing order as built."""
    found = []
    for index, (what, date, headline) in enumerate(_PLACEMENT[site]):
        if isinstance(what, str):
            s = seed(what)
            title, body, seed_id = headline or s.title, s.body, what
        else:
            f = FILLERS[what]
            title, body, seed_id, date = f.title, f.body, None, f.date
        found.append(FixtureArticle(site, _path(site, date, index), seed_id, title, date, body))
    return found


def seed_boilerplate(seed_id: str) -> tuple[str, ...]:
    """Return the boilerplate lines of a seed (the ground truth the extraction must drop)."""
    return seed(seed_id).boilerplate


def listing_paths(site: str) -> list[str]:
    """Return the paths of the site's listing pages (first page, then pagination)."""
    return {
        "ministry": ["/eng/xw/zyxw/index.html", "/eng/xw/zyxw/index_1.html"],
        "embassy": ["/eng/zgyw/index.htm", "/eng/zgyw/index_1.htm"],
        "portal": ["/world/page_1.html", "/world/page_2.html"],
        "agency": ["/news/index.htm", "/news/index_1.htm"],
    }[site]


def _paras(lines: tuple[str, ...] | list[str], attrs: str = "") -> str:
    """Render paragraphs."""
    return "\n".join(f"<p{attrs}>{escape(line)}</p>" for line in lines)


# ---- ministry -------------------------------------------------------------------------------------------------

_MINISTRY_NAV = [
    ("/eng/", "Home"),
    ("/eng/wjb/", "Ministry"),
    ("/eng/xw/", "News"),
    ("/eng/zy/", "Policies"),
    ("/eng/gjhdq/", "Countries & Regions"),
    ("/eng/fw/", "Services"),
]


def _ministry_chrome(title: str, head: str, inner: str) -> str:
    """Wrap content in the ministry's header, menu and footer."""
    nav = "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in _MINISTRY_NAV)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}_Ministry of Foreign Affairs of the People's Republic of China</title>
{head}
</head><body>
<div class="header"><a href="/eng/"><img src="/images/logo.png" alt="Ministry of Foreign Affairs"></a>
<div class="lang"><a href="/web/">中文</a> <a href="/fra/">Français</a> <a href="/esp/">Español</a></div>
<ul class="nav">{nav}</ul><form action="/search"><input name="q"><button>Search</button></form></div>
{inner}
<div class="footer"><p>Copyright © 1998-2024 Ministry of Foreign Affairs, the People's Republic of China</p>
<p>Address: No. 2, Chaoyangmen Nandajie, Chaoyang District, Beijing, 100701 Tel: 86-10-65961114</p>
<p>京ICP备06052939号 京公网安备 11010502046456号</p></div>
</body></html>"""


def _ministry_article(a: FixtureArticle) -> str:
    """Render a ministry article page."""
    crumb = (
        '<div class="crumb"><a href="/eng/">Home</a> &gt; <a href="/eng/xw/">News</a> &gt; '
        '<a href="/eng/xw/zyxw/">Activities</a></div>'
    )
    if a.seed == "002":  # the 2014 readout was filed under a topic page
        crumb = (
            '<div class="crumb"><a href="/eng/">Home</a> &gt; <a href="/eng/topics/">Topics</a> &gt; '
            '<a href="/eng/topics/cica/">Fourth Summit of Conference on Interaction and Confidence Building Measures '
            "in Asia</a></div>"
        )
    head = f"""<meta name="ArticleTitle" content="{escape(a.title)}">
<meta name="PubDate" content="{a.date} 21:30">
<meta name="ContentSource" content="MFA">"""
    page = f"""{crumb}
<div class="news-details">
<div class="news-title"><h1 id="News_Body_Title">{escape(a.title)}</h1></div>
<div class="news-info"><p class="time" id="News_Body_Time">{a.date} 21:30</p>
<a href="javascript:window.print()">Print</a> <a href="javascript:doZoom(16)">Larger</a> <a href="javascript:doZoom(14)">Smaller</a></div>
<meta name="TRSWCM.ContStart">
<div id="News_Body_Txt_A" class="TRS_Editor">
{_paras(a.body_lines)}
</div>
<meta name="TRSWCM.ContEnd">
<div class="share"><p>Suggest to a Friend:</p> <input type="text" name="email"> <button>Send</button></div>
</div>"""
    return _ministry_chrome(a.title, head, page)


def _ministry_listing(page: int, items: list[FixtureArticle], pages: int, hot: FixtureArticle) -> str:
    """Render a ministry listing page (relative links, countPage, and a "Hot topics" box on every page)."""
    rows = "\n".join(
        f'<li><a href="./{x.path.rsplit("/", 2)[1]}/{x.path.rsplit("/", 1)[1]}">{escape(x.title)}</a>'
        f"<span>{x.date}</span></li>"
        for x in items
    )
    nxt = f'<a href="index_{page + 1}.html">Next</a>' if page + 1 < pages else ""
    prev = f'<a href="{"index.html" if page == 1 else f"index_{page - 1}.html"}">Previous</a>' if page else ""
    inner = f"""<div class="crumb"><a href="/eng/">Home</a> &gt; <a href="/eng/xw/">News</a> &gt; Activities</div>
<div class="list1"><ul>{rows}</ul></div>
<script>var countPage = {pages}; var currentPage = {page}; createPageHTML(countPage, currentPage, "index", "html");</script>
<div class="pages">{prev} {nxt}</div>
<div class="hot"><h3>Hot topics</h3><a href="{hot.path}">{escape(hot.title)}</a></div>
<div class="more"><a href="/eng/wjb/">About the Ministry</a> <a href="/eng/xw/fyrbt/">Press conferences</a></div>"""
    return _ministry_chrome("Activities", "", inner)


# ---- embassy --------------------------------------------------------------------------------------------------

_EMBASSY_MENU = [
    "Home",
    "Embassy Info",
    "About China",
    "China & Greece",
    "Economy & Trade",
    "Consular Affairs",
    "Culture & Education",
    "Science & Technology",
    "The Olympics",
    "China's EU Policy Paper",
]


def _embassy_chrome(title: str, inner: str) -> str:
    """Wrap content in the embassy's layout tables."""
    menu = "".join(f'<td><a href="/eng/{i}/">{escape(m)}</a></td>' for i, m in enumerate(_EMBASSY_MENU))
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{escape(title)}</title></head>
<body><table width="980" align="center"><tr><td><img src="/eng/images/banner.jpg"
alt="Embassy of the People's Republic of China in the Hellenic Republic"></td></tr>
<tr><td><table class="menu"><tr>{menu}</tr></table></td></tr>
<tr><td>{inner}</td></tr>
<tr><td class="footer">Embassy of the People's Republic of China in the Hellenic Republic<br>
Address: 2A, Krinon Street, Palaio Psychico, Athens, 15452 Tel: 0030-210-6723282<br>
Copyright © Embassy of the People's Republic of China in the Hellenic Republic</td></tr></table></body></html>"""


def _embassy_article(a: FixtureArticle) -> str:
    """Render an embassy article page."""
    inner = f"""<table width="100%"><tr><td class="crumb">&nbsp;<a href="/eng/">Home</a> &gt; <a href="/eng/zgyw/">China News</a></td></tr>
<tr><td><div class="bigtitle" id="News_Body_Title">{escape(a.title)}</div></td></tr>
<tr><td><div class="date" id="News_Body_Time">{a.date}</div></td></tr>
<tr><td><div id="News_Body_Txt_A" class="TRS_UEDITOR trs_editor_view">
{_paras(a.body_lines, ' style="text-indent:2em"')}
</div></td></tr>
<tr><td class="tools"><a href="javascript:mailpage()">Suggest To A Friend</a> &nbsp; <a href="javascript:window.print()">Print</a></td></tr>
</table>"""
    return _embassy_chrome(a.title, inner)


def _embassy_listing(page: int, items: list[FixtureArticle], pages: int) -> str:
    """Render an embassy listing page."""
    rows = "\n".join(
        f'<tr><td><a href="./{x.path.rsplit("/", 2)[1]}/{x.path.rsplit("/", 1)[1]}">{escape(x.title)}</a></td>'
        f"<td>({x.date})</td></tr>"
        for x in items
    )
    nxt = f'<a href="index_{page + 1}.htm">Next Page</a>' if page + 1 < pages else ""
    return _embassy_chrome("China News", f'<table class="list">{rows}</table><div>{nxt}</div>')


# ---- portal ---------------------------------------------------------------------------------------------------


def _portal_chrome(title: str, head: str, inner: str) -> str:
    """Wrap content in the portal's header and footer."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} - Worldnews.com</title>{head}</head><body>
<header><nav><a href="/">Home</a> <a href="/world/page_1.html">World</a> <a href="/business/">Business</a>
<a href="/sports/">Sports</a> <a href="/opinion/">Opinion</a></nav></header>
{inner}
<aside class="app"><p>Download from Apple Store or Play Store.</p></aside>
<footer><p>Worldnews.com — independent news since 1998.</p><p>© 2024 Worldnews Media Group. All rights reserved.</p></footer>
</body></html>"""


def _portal_article(a: FixtureArticle, index: int) -> str:
    """Render a portal article, with "See also" links between some paragraphs (different ones on each page)."""
    parts = []
    for n, line in enumerate(a.body_lines):
        parts.append(f"<p>{escape(line)}</p>")
        if n % 4 == 3 and n + 1 < len(a.body_lines):
            headline = SEE_ALSO[(index + n // 4) % len(SEE_ALSO)]
            slug = hashlib.sha1(headline.encode()).hexdigest()[:24]
            parts.append(
                f'<p><strong>See also</strong>&nbsp; <a href="/a/202303/20/WS{slug}.html">{escape(headline)}</a></p>'
            )
    head = f'<meta name="publishdate" content="{a.date} 08:17:00">'
    inner = f"""<div class="main"><h1>{escape(a.title)}</h1>
<div class="info"><span>By Agencies</span> | <span>Updated: {a.date} 08:17</span></div>
<div id="Content">{"".join(parts)}</div></div>"""
    return _portal_chrome(a.title, head, inner)


def _portal_listing(page: int, items: list[FixtureArticle], pages: int) -> str:
    """Render a portal section page (absolute links)."""
    rows = "\n".join(
        f'<div class="item"><h4><a href="{x.path}">{escape(x.title)}</a></h4><b>{x.date}</b></div>' for x in items
    )
    nav = " ".join(f'<a href="/world/page_{n}.html">{n}</a>' for n in range(1, pages + 1))
    return _portal_chrome("World", "", f'<div class="list">{rows}</div><div class="pages">{nav}</div>')


# ---- agency ---------------------------------------------------------------------------------------------------


def _agency_chrome(title: str, inner: str) -> str:
    """Wrap content in the agency's header and footer."""
    return f"""<html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>
<div class="top"><a href="/zh/">中文</a> <a href="/fr/">Français</a> <a href="/contact.htm">Contact Us</a></div>
<div class="nav"><a href="/">Home</a> <a href="/news/index.htm">News</a> <a href="/policies/">Policies</a></div>
{inner}
<div class="foot"><p>Copyright ©  China International Development Cooperation Agency. All rights reserved. Presented by China Daily.</p>
<p>京ICP备18041594号-1</p><p>京公网安备 11010202005508号</p></div></body></html>"""


def _agency_article(a: FixtureArticle) -> str:
    """Render an agency repost: source line, image file names as captions, the body."""
    stamp = a.date.replace("-", "")
    source = "fmprc.gov.cn" if a.seed else "Xinhua"
    body = list(a.body_lines)
    first = f'<p style="text-align:center"><img src="./W{stamp}728247677856.jpg"></p><p>W{stamp}728247677856.jpg</p>'
    last = f'<p style="text-align:center"><img src="./W{stamp}728247852197.jpg"></p><p>W{stamp}728247852197.jpg</p>'
    inner = f"""<div class="article"><h1>{escape(a.title)}</h1>
<div class="info">{source}| Updated: {a.date}</div>
<div class="TRS_Editor" id="Content">{first}{_paras(body)}{last}</div></div>"""
    return _agency_chrome(a.title, inner)


def _agency_listing(page: int, items: list[FixtureArticle], pages: int) -> str:
    """Render an agency news list."""
    rows = "\n".join(f'<li><a href="{x.path}">{escape(x.title)}</a> {x.date}</li>' for x in items)
    nxt = f'<a href="/news/index_{page + 1}.htm">&gt;&gt;</a>' if page + 1 < pages else ""
    return _agency_chrome("News", f'<ul class="list">{rows}</ul>{nxt}')


def render_article(site: str, article: FixtureArticle, index: int = 0) -> bytes:
    """Render any article in one site's template (the i-th article of a site gets the i-th "See also" links)."""
    if site == "ministry":
        html = _ministry_article(article)
    elif site == "embassy":
        html = _embassy_article(article)
    elif site == "portal":
        html = _portal_article(article, index)
    else:
        html = _agency_article(article)
    return html.encode("utf-8")


def seed_article(site: str, seed_id: str, date: str = "2020-01-02") -> FixtureArticle:
    """Return a seed readout as an article of the given site."""
    s = seed(seed_id)
    return FixtureArticle(site, _path(site, date, 9), seed_id, s.title, date, s.body)


def build_site(site: str) -> dict[str, Page]:
    """Return every page of one fixture site by path: listing pages (two) and articles."""
    items = articles(site)
    listings = listing_paths(site)
    halves = [items[:2], items[2:]]
    pages: dict[str, Page] = {}
    for n, path in enumerate(listings):
        if site == "ministry":
            html = _ministry_listing(n, halves[n], len(listings), hot=items[0])
        elif site == "embassy":
            html = _embassy_listing(n, halves[n], len(listings))
        elif site == "portal":
            html = _portal_listing(n, halves[n], len(listings))
        else:
            html = _agency_listing(n, halves[n], len(listings))
        pages[path] = Page(html.encode("utf-8"))
    for index, a in enumerate(items):
        pages[a.path] = Page(render_article(site, a, index))
    return pages
