"""A page's metadata (title, publication date, author, site name, language) from its parsed tree. Pure, no I/O.

trafilatura's own metadata pass also runs author heuristics, categories, tags and licence searches over the whole
page and htmldate's extensive text search on every page, which together cost more than the extraction of the body.
Here the cheap, reliable sources come first (meta tags, JSON-LD, the URL, date markup); htmldate's search of the
page's text (`text_date`) is for a page that declares its date nowhere else, and runs without styles and scripts.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import lxml.html
from htmldate import find_date
from lxml import etree
from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title
from trafilatura.settings import set_date_params

_URL_DATES = (
    re.compile(r"/t(\d{4})(\d{2})(\d{2})_\d+"),
    re.compile(r"/(\d{4})-(\d{2})/(\d{2})/"),
    re.compile(r"/(\d{4})(\d{2})/(\d{2})/"),
    re.compile(r"/(\d{4})/(\d{2})/(\d{2})/"),
    re.compile(r"[/_-](\d{4})(\d{2})(\d{2})[/_.-]"),
)
_META_DATES = ("PubDate", "publishdate", "pubdate", "article:published_time", "datePublished", "date", "dc.date")
_META_TITLES = ("ArticleTitle", "og:title")


@dataclass(frozen=True)
class PageMeta:
    """What a page says about itself."""

    title: str | None
    published: str | None  # YYYY-MM-DD
    author: str | None
    sitename: str | None
    language: str | None


def page_meta(tree: lxml.html.HtmlElement, url: str) -> PageMeta:
    """Return the page's metadata; the date from meta tags, else the URL, else date markup (None when none says)."""
    own = _meta_tags(tree)
    found = extract_meta_json(tree, examine_meta(tree))
    title = own.get("title") or found.title or extract_title(tree)
    published = _published(own.get("date"), url) or _htmldate(tree, url, extensive=False)
    author = found.author if found.author and " " in found.author else None
    language = found.language or tree.get("lang") or tree.get("xml:lang") or None
    return PageMeta(title, published, author, _sitename(found.sitename or extract_sitename(tree), url), language)


def text_date(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """Return a publication date found in the page's text by htmldate's extensive search (styles, scripts ignored)."""
    bare = deepcopy(tree)
    etree.strip_elements(bare, "style", "script", with_tail=False)
    return _htmldate(bare, url, extensive=True)


def _sitename(declared: str | None, url: str) -> str | None:
    """Return the site's name as declared (as trafilatura tidies it), else the URL's host name."""
    name = " ".join((declared or "").split()).lstrip("@")
    if name and "." not in name and not name[0].isupper():
        name = name.title()
    host = urlsplit(url).hostname or ""
    return name or host.removeprefix("www.") or None


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Return the title and date that the page declares in its meta tags."""
    found: dict[str, str] = {}
    for el in tree.iter("meta"):
        name = el.get("name") or el.get("property") or el.get("itemprop") or ""
        content = (el.get("content") or "").strip()
        if not content:
            continue
        if "title" not in found and name in _META_TITLES:
            found["title"] = content
        if "date" not in found and name in _META_DATES:
            found["date"] = content
    return found


def _htmldate(tree: lxml.html.HtmlElement, url: str, extensive: bool) -> str | None:
    """Return the date htmldate finds in the page's markup (and, when extensive, in its text)."""
    params = {**set_date_params(extensive), "url": url}
    return _iso(find_date(tree, **params))


def _valid_date(year: int, month: int, day: int) -> str | None:
    """Return YYYY-MM-DD when the parts make a plausible publication date."""
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found.isoformat() if 1990 <= year <= date.today().year + 1 else None


def _iso(text: str | None) -> str | None:
    """Return YYYY-MM-DD from a text starting with a date like 2023-03-21, 2023/3/21 or 2023.03.21."""
    match = re.match(r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text or "")
    return _valid_date(*(int(g) for g in match.groups())) if match else None


def _published(meta_date: str | None, url: str) -> str | None:
    """Return the published date from the page's meta tag, else from its URL."""
    valid = _iso(meta_date)
    if valid:
        return valid
    for pattern in _URL_DATES:
        match = pattern.search(url)
        if match:
            valid = _valid_date(*(int(g) for g in match.groups()))
            if valid:
                return valid
    return None
