"""`readouts sources --new`: a source entry proposed from one listing page, for the user to edit."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

MIN_ARTICLES = 2  # fewer links of one shape is no pattern
HEADLINE_WORDS = 4  # an article link's text is a headline; a menu entry's is shorter
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+){2,}", re.I)  # a title in a URL: xi-holds-talks-with-putin
_HEX = re.compile(r"(?=[0-9a-f]*\d)[0-9a-f]{16,}")  # hashes and ids in URLs: WS5c9b1ddca3104842260b3a4e
_DIGITS = re.compile(r"\d+")
_PAGER = re.compile(r"(?:^|[/_\-.?&=])(?:page|index|list|p|pn|pg)[_\-/=]?\d+", re.I)
_NEXT_TEXT = {"next", "next page", "next »", "»", "›", ">", "older", "下一页", "下页", "следующая", "далее"}
_FEED_TYPES = ("rss", "atom")
_TOKEN = re.compile(f"{_SLUG.pattern}|{_HEX.pattern}|{_DIGITS.pattern}", re.I)


@dataclass(frozen=True)
class Proposal:
    """A proposed source entry: where to start, which links are articles and which to follow, feeds and sitemaps."""

    name: str
    start_url: str
    articles: str | None
    article_links: int
    links: int
    follow: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]

    def toml(self) -> str:
        """Return the entry as TOML, with comments saying where each value came from."""
        lines = [f"[source.{self.name}]", f'start_urls = ["{self.start_url}"]']
        if self.articles:
            lines.append(f"articles = ['{self.articles}']  # {self.article_links} of the page's {self.links} links")
        else:
            lines.append("articles = ['CHANGE ME']  # no shape is shared by enough of the page's links")
        if self.follow:
            lines.append("follow = " + _array(self.follow, "'") + "  # pagination")
        if self.feeds:
            lines.append("feeds = " + _array(self.feeds, '"') + "  # linked from the page")
        if self.sitemaps:
            lines.append("sitemaps = " + _array(self.sitemaps, '"') + "  # linked from the page")
        lines.append("delay = 2.0")
        return "\n".join(lines) + "\n"


def _array(values: tuple[str, ...], quote: str) -> str:
    """Return a TOML array of strings: literal ('…', regexes) or basic ("…", URLs without quotes or backslashes)."""
    return "[" + ", ".join(f"{quote}{v}{quote}" for v in values) + "]"


def shape(url: str) -> str:
    """Return a URL's path (and query) as a regex in which ids, dates and hashes are generalised, digits as \\d+."""
    parts = urlsplit(url)
    text = parts.path + (f"?{parts.query}" if parts.query else "")
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        out.append(re.escape(text[last : match.start()]))
        token = match.group()
        out.append(r"\d+" if token.isdigit() else "[0-9a-f]+" if _HEX.fullmatch(token) else r"[\w\-]+")
        last = match.end()
    out.append(re.escape(text[last:]))
    return "".join(out)


def _fixed(pattern: str, urls: list[str]) -> str:
    """Narrow each \\d+ or [0-9a-f]+ of a shape to {n} where every URL has the same width there."""
    tokens = re.split(r"(\\d\+|\[0-9a-f\]\+|\[\\w\\-\]\+)", pattern)
    widths: dict[int, set[int]] = defaultdict(set)
    for url in urls:
        parts = urlsplit(url)
        text = parts.path + (f"?{parts.query}" if parts.query else "")
        for i, found in enumerate(_TOKEN.finditer(text)):
            widths[i].add(len(found.group()))
    out, index = [], 0
    for token in tokens:
        if token == r"[\w\-]+":
            index += 1
            out.append(token)
        elif token in (r"\d+", "[0-9a-f]+"):
            sizes = widths[index]
            out.append(token[:-1] + f"{{{sizes.pop()}}}" if len(sizes) == 1 else token)
            index += 1
        else:
            out.append(token)
    return "".join(out)


def propose(name: str, url: str, body: bytes) -> Proposal:
    """Propose a source entry from a listing page: the shape most of its links share, its pagination, feeds."""
    tree = lxml.html.fromstring(body, base_url=url)
    host = urlsplit(url).hostname or ""
    anchors = []
    for element in tree.iter("a"):
        href = element.get("href")
        if href and not href.startswith(("javascript:", "mailto:", "#")):
            link = urljoin(url, href).split("#")[0]
            if urlsplit(link).hostname == host and link != url:
                anchors.append((link, " ".join(element.text_content().split()).lower()))
    links = list(dict.fromkeys(link for link, _ in anchors))
    start_shape = shape(url)
    pager = [link for link, text in anchors if shape(link) == start_shape or _paging(link) or text in _NEXT_TEXT]
    groups: dict[str, list[str]] = defaultdict(list)
    for link in links:
        if link not in pager and shape(link) != re.escape(urlsplit(link).path):  # ids, dates or a title in it
            groups[shape(link)].append(link)
    words: dict[str, int] = defaultdict(int)
    for link, text in anchors:
        words[link] = max(words[link], len(text.split()))

    def headlines(item: tuple[str, list[str]]) -> tuple[int, int]:
        """Rank a shape by its links that read like headlines (4+ words: not menu entries), then by its links."""
        return sum(words[link] >= HEADLINE_WORDS for link in item[1]), len(item[1])

    best: tuple[str | None, list[str]] = max(groups.items(), key=headlines, default=(None, []))
    articles = _fixed(best[0], best[1]) + "$" if best[0] and len(best[1]) >= MIN_ARTICLES else None
    follow = {_pager_pattern(link) for link in dict.fromkeys(pager)}
    if b"countPage" in body:  # the MFA and embassy CMS draws its pager by script: index_1.html, index_2.html, …
        path = urlsplit(url).path
        folder, leaf = path.rsplit("/", 1)
        stem, _, ext = (leaf or "index.html").partition(".")
        follow.add(re.escape(f"{folder}/{stem}") + r"_\d+" + re.escape(f".{ext or 'html'}") + "$")
    return Proposal(
        name=name,
        start_url=url,
        articles=articles,
        article_links=len(best[1]) if articles else 0,
        links=len(links),
        follow=tuple(sorted(follow)),
        feeds=tuple(_feeds(tree, url, links)),
        sitemaps=tuple(link for link in links if "sitemap" in link.lower()),
    )


def _paging(link: str) -> bool:
    """Whether a link looks like a page of a listing (page_2, index_3, ?page=4)."""
    parts = urlsplit(link)
    return bool(_PAGER.search(f"{parts.path}?{parts.query}"))


def _pager_pattern(link: str) -> str:
    """Return the follow pattern of a pagination link."""
    return shape(link) + "$"


def _feeds(tree: lxml.html.HtmlElement, url: str, links: list[str]) -> list[str]:
    """Return the feeds a page declares (link rel=alternate) or links to (…/rss, …/feed, *.xml)."""
    found = []
    for element in tree.iter("link"):
        kind = (element.get("type") or "").lower()
        if element.get("href") and "alternate" in (element.get("rel") or "") and any(t in kind for t in _FEED_TYPES):
            found.append(urljoin(url, element.get("href")))
    for link in links:
        path = urlsplit(link).path.lower()
        if (path.endswith((".xml", ".rss", ".atom", "/feed", "/rss")) or "/feed/" in path) and "sitemap" not in path:
            found.append(link)
    return list(dict.fromkeys(found))
