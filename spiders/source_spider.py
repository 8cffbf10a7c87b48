"""The generic spider: listing pages -> pagination (`follow`) -> articles (`articles`), plus feeds and sitemaps."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Container, Iterable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.selector import Selector
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from crawler.config.sources import Source
from crawler.config.urls import canonical_url
from crawler.model import FetchedPage
from spiders.bounds import ARTICLE, LISTING, Budget
from spiders.middlewares import WIRE_META, SourceStopped, header_pairs
from spiders.pipeline import CrawlContext

logger = logging.getLogger(__name__)

SITEMAP_MAXSIZE = 32 * 1024 * 1024
_COUNT_PAGE = re.compile(r"\bcountPage\s*=\s*(\d+)")
_PAGER = re.compile(r"createPageHTML\([^)]*?[\"'](\w+)[\"']\s*,\s*[\"'](s?html?)[\"']")
# what Scrapy's failures mean when they come without a message
_EXPLAINED = {
    "DownloadCancelledError": "download cancelled: the body went over the size limit (DOWNLOAD_MAXSIZE)",
    "ResponseDataLossError": "the body was cut short: fewer bytes than the Content-Length promised",
    "ResponseNeverReceived": "the connection closed before an answer",
}
# answers to a re-check that the pipeline handles itself: not modified, moved, gone
RECHECK_STATUSES = [301, 302, 303, 307, 308, 304, 404, 410]


MAX_PATH_SEGMENTS = 16
MAX_SEGMENT_REPEATS = 3
ARTICLE_PRIORITY = 10  # articles of a listing page are fetched before the next listing page (traps starve less)


def on_allowed_hosts(url: str, domains: Iterable[str]) -> bool:
    """Return True when the URL's host is one of `domains` or a subdomain of one (not merely ending like one)."""
    host = urlsplit(url).hostname or ""
    return any(host == d or host.endswith("." + d) for d in domains)


def looks_like_trap(url: str) -> bool:
    """Return True for a URL whose path only a crawler trap makes: very deep, or one segment repeated (/a/a/a/)."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return True
    return any(segments.count(s) >= MAX_SEGMENT_REPEATS for s in set(segments))


class SourceSpider(Spider):
    """Crawl one configured source; yields one item per article page fetched (or failed)."""

    name = "source"
    source: ClassVar[Source]
    known_urls: ClassVar[Container[str]] = frozenset()
    # known pages due for a re-check: (url, etag, last_modified)
    due: ClassVar[tuple[tuple[str, str | None, str | None], ...]] = ()
    # walk every listing page even when one holds only known articles
    full: ClassVar[bool] = False
    # what the item pipeline writes to: the run's archive, extraction pool and tally (None: no pipeline)
    context: ClassVar[CrawlContext | None] = None
    # the bound on this crawl's new requests (spiders.bounds.Budget), and where a cut crawl before it stopped
    max_pages: ClassVar[int | None] = None
    resume: ClassVar[tuple[tuple[str, str], ...]] = ()  # (url, "listing" | "article")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build the link extractors from the source's patterns."""
        super().__init__(*args, **kwargs)
        src = self.source
        self.allowed_domains = list(src.allowed_domains)
        # hosts are checked by allows (LinkExtractor's allow_domains compares host:port, so ports would not match);
        # a listing page's links are extracted once (every <a>, a whole-page walk), then sorted by the source's patterns
        self._page_links = LinkExtractor(unique=True)
        self.seen_articles: set[str] = set()
        self.seen_listings: set[str] = set()
        self.budget = Budget(self.max_pages or src.max_pages)
        # requests made and not answered yet, and URLs the bound kept back: what the next crawl starts from
        self.pending: dict[str, str] = {}
        self.deferred: dict[str, str] = {}

    @classmethod
    def for_source(
        cls,
        source: Source,
        known_urls: Container[str],
        settings: dict[str, Any],
        due: tuple[tuple[str, str | None, str | None], ...] = (),
        full: bool = False,
        max_pages: int | None = None,
        resume: tuple[tuple[str, str], ...] = (),
        context: CrawlContext | None = None,
    ) -> type[SourceSpider]:
        """Return a spider class bound to one source, with that source's politeness settings and due re-checks."""
        attrs = {"name": source.name, "source": source, "known_urls": known_urls, "custom_settings": settings}
        more = {"due": due, "full": full, "max_pages": max_pages, "resume": resume, "context": context}
        return type(f"SourceSpider_{source.name}", (cls,), {**attrs, **more})

    def frontier(self) -> list[tuple[str, str]]:
        """Return (url, kind) of what this crawl left: kept back by the bound, or requested and never answered."""
        return list({**self.pending, **self.deferred}.items())

    @property
    def cut(self) -> bool:
        """True when the bound kept back a request."""
        return bool(self.deferred)

    async def start(self) -> AsyncIterator[Any]:
        """Request the due re-checks, the source's listing pages, where a cut crawl stopped, feeds and sitemaps."""
        for url, etag, last_modified in self.due:
            yield self._recheck_request(url, etag, last_modified)
        for url in self.source.start_urls:
            self.budget.spend(LISTING)  # start pages are always read: new articles appear there first
            self.seen_listings.add(url)
            yield Request(url, callback=self.parse_listing, errback=self.listing_failed)
        for url, kind in self.resume:
            request = self._article_request(url, "resumed") if kind == ARTICLE else self._listing_request(url, True)
            if request:
                yield request
        for url in self.source.feeds:
            yield Request(url, callback=self.parse_feed, errback=self.listing_failed)
        for url in self.source.sitemaps:
            yield Request(url, callback=self.parse_sitemap, errback=self.listing_failed)

    def allows(self, url: str) -> bool:
        """Return True when the URL is on one of the source's allowed hosts (or their subdomains)."""
        return on_allowed_hosts(url, self.source.allowed_domains)

    def _article_request(self, url: str, via: str = "") -> Request | None:
        """Return a request for an allowed article not yet archived nor requested in this crawl, else None (`via`:
        the page that links it, for a cluster's claims)."""
        url = canonical_url(url)
        if not self.allows(url) or url in self.seen_articles or url in self.known_urls or self._trap(url):
            return None
        self.seen_articles.add(url)
        if not self.budget.take(ARTICLE):
            self.deferred[url] = ARTICLE
            return None
        self.pending[url] = ARTICLE
        # dont_filter: articles are deduplicated above; the dupe filter would silently drop a redirect loop
        return Request(
            url,
            callback=self.parse_article,
            errback=self.article_failed,
            meta={"article": True, "frontier": url},
            dont_filter=True,
            priority=ARTICLE_PRIORITY,
        )

    def _trap(self, url: str) -> bool:
        """Return True (and count it) when the URL looks like a crawler trap."""
        if looks_like_trap(url):
            self.crawler.stats.inc_value("readouts/trap_refused")
            logger.info("not following %s: its path looks like a crawler trap", url)
            return True
        return False

    def _recheck_request(self, url: str, etag: str | None, last_modified: str | None) -> Request:
        """Return a conditional request re-checking a known page; redirects and 304/404/410 come back as answers.

        The validators come from the archive, not from Scrapy's HTTP cache: the cache would keep a second copy of
        every body, and the archive already holds what a 304 needs.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self.seen_articles.add(url)
        meta = {
            "article": True,
            "recheck": True,
            "dont_redirect": True,
            "handle_httpstatus_list": RECHECK_STATUSES,
        }
        return Request(
            url,
            headers=headers,
            callback=self.parse_article,
            errback=self.article_failed,
            meta=meta,
            dont_filter=True,
            priority=ARTICLE_PRIORITY,
        )

    def _links(self, response: TextResponse) -> Iterator[Request]:
        """Yield requests for the article and listing links of a listing page (stop-on-seen: see below)."""
        links = self._page_links.extract_links(response)
        articles = [canonical_url(link.url) for link in links if self.source.is_article(link.url)]
        for url in articles:
            request = self._article_request(url, response.url)
            if request:
                yield request
        # a walk resumed where a cut crawl stopped goes on past known pages
        resumed = bool(response.meta.get("resumed"))
        if articles and not self.full and not resumed and all(url in self.known_urls for url in articles):
            # a listing page of known articles only: older pages hold nothing new, so pagination ends here
            self.crawler.stats.inc_value("readouts/stopped_on_seen")
            logger.info("stop-on-seen: %s lists only known articles", response.url)
            return
        if self.source.follow:
            following = _counted_next_page(response)
            if following and self.source.is_followed(following) and self.allows(following):
                request = self._listing_request(following, resumed)
                if request:
                    yield request
            for link in links:
                if not self.source.is_followed(link.url):
                    continue
                url = canonical_url(link.url)
                if self.allows(url) and not self.source.is_article(url) and not self._trap(url):
                    request = self._listing_request(url, resumed)
                    if request:
                        yield request

    def _listing_request(self, url: str, resumed: bool = False) -> Request | None:
        """Return a request for a listing page not yet requested in this crawl, unless the bound keeps it back."""
        if url in self.seen_listings:
            return None
        self.seen_listings.add(url)
        if not self.budget.take(LISTING):
            self.deferred[url] = LISTING
            return None
        self.pending[url] = LISTING
        meta = {"frontier": url, "resumed": resumed}
        return Request(url, callback=self.parse_listing, errback=self.listing_failed, meta=meta)

    def parse_listing(self, response: Response) -> Iterator[Request | FetchedPage]:
        """Follow a listing page's pagination and article links; the listing is never archived, only learned from."""
        self.pending.pop(response.meta.get("frontier", ""), None)
        self.crawler.stats.inc_value("readouts/listing_pages")
        if not isinstance(response, TextResponse):
            logger.warning("listing page %s is not text (%s)", response.url, response.headers.get("Content-Type"))
            return
        # its menus and footers are the site's template too: the pipeline learns them (a small site has few articles)
        yield FetchedPage(
            url=canonical_url(response.url),
            final_url=response.url,
            source=self.source.name,
            status=response.status,
            body=response.body,
            content_type=_header(response.headers, b"Content-Type"),
            listing=True,
        )
        yield from self._links(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Read an RSS or Atom feed and request the article links it lists."""
        selector = Selector(text=response.body.decode("utf-8", "replace"), type="xml")
        selector.remove_namespaces()
        links = selector.xpath("//item/link/text() | //entry/link[not(@rel) or @rel='alternate']/@href").getall()
        self.crawler.stats.inc_value("readouts/feed_entries", len(links))
        for link in links:
            url = response.urljoin(link.strip())
            if self.source.is_article(url):
                request = self._article_request(url, response.url)
                if request:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Read a sitemap or sitemap index (gzip allowed) with Scrapy's Sitemap parser."""
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=SITEMAP_MAXSIZE)
            except Exception as exc:  # corrupt or oversized gzip: the sitemap is skipped, the crawl goes on
                logger.warning("ignoring sitemap %s: %s", response.url, exc)
                return
        try:
            sitemap = Sitemap(body)
        except Exception as exc:
            logger.warning("ignoring invalid sitemap %s: %s", response.url, exc)
            return
        self.crawler.stats.inc_value("readouts/listing_pages")
        for entry in sitemap:
            loc = entry.get("loc", "").strip()
            if not loc or not self.allows(loc):
                continue
            if sitemap.type == "sitemapindex":
                yield Request(loc, callback=self.parse_sitemap, errback=self.listing_failed)
            elif self.source.is_article(loc):
                request = self._article_request(loc, response.url)
                if request:
                    yield request

    def parse_article(self, response: Response) -> Iterator[FetchedPage | Request]:
        """Yield the raw article page for the pipeline to extract and archive (and follow a moved page)."""
        headers = response.headers
        request = response.request
        self.pending.pop(response.meta.get("frontier", ""), None)
        location = None
        if 300 <= response.status < 400:
            target = _header(headers, b"Location")
            location = canonical_url(response.urljoin(target)) if target else None
        wire = response.meta.get(WIRE_META)  # (body, headers) as received, when it came content-encoded
        yield FetchedPage(
            url=canonical_url(request.url if request else response.url),
            final_url=response.url,
            source=self.source.name,
            status=response.status,
            body=response.body,
            wire_body=wire[0] if wire else None,
            content_type=_header(headers, b"Content-Type"),
            etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified"),
            headers=wire[1] if wire else header_pairs(headers),
            request_headers=header_pairs(request.headers) if request else [],
            recheck=bool(response.meta.get("recheck")),
            location=location,
        )
        if location and self.source.is_article(location):
            follow = self._article_request(location, response.url)
            if follow:
                yield follow

    def article_failed(self, failure: Failure) -> Iterator[FetchedPage]:
        """Yield a failed article fetch so the page is recorded with its error."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(SourceStopped):  # stays pending: the next crawl asks again
            self.crawler.stats.inc_value("readouts/not_fetched_source_stopped")
            return  # not a page error: the next run asks again
        self.pending.pop(request.meta.get("frontier", ""), None)
        response = getattr(failure.value, "response", None)
        reason = _reason(failure)
        self.crawler.stats.inc_value("readouts/article_errors")
        logger.warning("article %s failed: %s", request.url, reason)
        # a redirect refused or failed is recorded on the URL the source asked for
        url = canonical_url((request.meta.get("redirect_urls") or [request.url])[0])
        yield FetchedPage(
            url=url,
            final_url=request.url,
            source=self.source.name,
            status=response.status if response is not None else 0,
            recheck=bool(request.meta.get("recheck")),
            error=reason,
        )

    def listing_failed(self, failure: Failure) -> None:
        """Log and count a listing, feed or sitemap that could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        self.pending.pop(request.meta.get("frontier", ""), None)
        reason = _reason(failure)
        self.crawler.stats.inc_value("readouts/listing_errors")
        errors = self.crawler.stats.get_value("readouts/error_samples") or []
        errors.append({"url": request.url, "error": reason})
        self.crawler.stats.set_value("readouts/error_samples", errors[-50:])
        logger.warning("listing %s failed: %s", request.url, reason)


def _reason(failure: Failure) -> str:
    """Return a short description of why a request failed."""
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    name = type(failure.value).__name__
    return f"{name}: {str(failure.value) or _EXPLAINED.get(name, 'no detail')}"


def _counted_next_page(response: TextResponse) -> str | None:
    """Return the next listing page of a TRS-CMS site (MFA, embassies), whose pager is drawn by script.

    Those pages say `countPage = N` and are named index.html, index_1.html … index_{N-1}.html.
    """
    match = _COUNT_PAGE.search(response.text)
    if not match:
        return None
    count = int(match.group(1))
    path = urlsplit(response.url).path
    page = re.search(r"/(index|default)(?:_(\d+))?\.(s?html?)$", path)
    if page:
        stem, number, ext = page.group(1), int(page.group(2) or 0), page.group(3)
    elif path.endswith("/"):
        pager = _PAGER.search(response.text)  # createPageHTML(countPage, currentPage, "index", "htm")
        stem, number, ext = (pager.group(1), 0, pager.group(2)) if pager else ("index", 0, "html")
    else:
        return None
    if number + 1 >= count:
        return None
    return response.urljoin(f"{stem}_{number + 1}.{ext}")


def _header(headers: Any, name: bytes) -> str | None:
    """Return a response header as text, or None."""
    value = headers.get(name)
    return value.decode("latin-1") if value else None
