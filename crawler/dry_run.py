"""`readouts sources --try`: crawl a few pages of one source with the real spider and keep nothing but a preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.config.sources import Source
from crawler.extraction.extract import Extracted, extract
from crawler.model import FetchedPage
from spiders.settings import BASE_SETTINGS, crawler_process, source_settings
from spiders.source_spider import SourceSpider

LISTING_CALLBACKS = ("parse_listing", "parse_feed", "parse_sitemap")


@dataclass
class Preview:
    """What a dry run of one source saw: pages fetched, links it would follow and archive, one article's text."""

    listings: list[str] = field(default_factory=list)  # listing pages, feeds and sitemaps fetched, with their status
    follow: list[str] = field(default_factory=list)  # listing links that would be followed
    articles: list[str] = field(default_factory=list)  # article links that would be archived
    fetched: list[str] = field(default_factory=list)  # article pages fetched, with their status or error
    sample_url: str | None = None
    sample: Extracted | None = None
    bodies: dict[str, bytes] = field(default_factory=dict)  # the start pages' bodies, for `sources --new`


class PreviewPipeline:
    """The dry run's item pipeline: notes each article fetched and extracts the first with a text; stores nothing."""

    def __init__(self, preview: Preview, language: str | None) -> None:
        """Keep the preview to fill."""
        self.preview, self.language = preview, language

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PreviewPipeline:
        """Build the pipeline from the crawl's settings."""
        spider_cls: Any = crawler.spidercls
        return cls(crawler.settings["READOUTS_PREVIEW"], spider_cls.source.language)

    def process_item(self, item: FetchedPage) -> FetchedPage:
        """Note an article page; extract it when it is the first good one."""
        if item.listing:  # a listing page is noted by the response signal, never as an article fetched
            return item
        self.preview.fetched.append(f"{item.url} ({item.error or item.status})")
        if self.preview.sample is None and not item.error and item.status == 200:
            found = extract(item.body, item.final_url, item.content_type, self.language)
            if isinstance(found, Extracted) and found.lines:
                self.preview.sample_url, self.preview.sample = item.url, found
        return item


def preview(source: Source, max_pages: int, log_level: str = "ERROR") -> Preview:
    """Crawl at most `max_pages` pages of one source as a real crawl would (robots.txt, hosts, politeness), writing
    nothing; call once per process (one Twisted reactor)."""
    seen = Preview()
    settings = {
        **BASE_SETTINGS,
        "LOG_LEVEL": log_level,
        "ITEM_PIPELINES": {f"{__name__}.PreviewPipeline": 300},
        "READOUTS_PREVIEW": seen,
    }
    process = crawler_process(settings)
    spider_cls = SourceSpider.for_source(
        source, frozenset(), {**source_settings(source), "CLOSESPIDER_PAGECOUNT": max_pages}
    )
    crawler = process.create_crawler(spider_cls)
    # weak=False: the dispatcher holds receivers weakly, and nothing else holds these lambdas
    crawler.signals.connect(
        lambda request, spider: _scheduled(seen, source, request), signal=signals.request_scheduled, weak=False
    )
    crawler.signals.connect(
        lambda response, request, spider: _received(seen, source, response, request),
        signal=signals.response_received,
        weak=False,
    )
    process.crawl(crawler)
    process.start()
    return seen


def _callback(request: Request) -> str:
    """Return the name of a request's spider callback ("" for Scrapy's own requests, e.g. robots.txt)."""
    return getattr(request.callback, "__name__", "")


def _scheduled(seen: Preview, source: Source, request: Request) -> None:
    """Note a link the spider decided to follow or to archive."""
    if request.meta.get("article"):
        seen.articles.append(request.url)
    elif _callback(request) == "parse_listing" and request.url not in source.start_urls:
        seen.follow.append(request.url)


def _received(seen: Preview, source: Source, response: Response, request: Request) -> None:
    """Note a listing page fetched (and keep a start page's body)."""
    if _callback(request) in LISTING_CALLBACKS:
        seen.listings.append(f"{request.url} ({response.status})")
        if request.url in source.start_urls:
            seen.bodies[request.url] = response.body
