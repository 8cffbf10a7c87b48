"""Fetch-only: the project's spider over a sources file with the archive pipeline disabled; prints pages as JSON.

Usage: python benchmarks/fetch_only.py SOURCES.toml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from crawler.config.sources import load_sources
from crawler.model import FetchedPage
from spiders.settings import BASE_SETTINGS, source_settings
from spiders.source_spider import SourceSpider


def main(path: str) -> None:
    """Crawl every source of the file once, counting article pages fetched, and print the count."""
    fetched = {"pages": 0, "bytes": 0}

    def count(item: FetchedPage, **_: object) -> None:
        if item.listing:  # listing pages are yielded for template learning, not archived: not counted
            return
        fetched["pages"] += 1
        fetched["bytes"] += len(item.body)

    process = CrawlerProcess({**BASE_SETTINGS, "ITEM_PIPELINES": {}})
    for source in load_sources(path).values():
        spider = SourceSpider.for_source(source, frozenset(), source_settings(source), due=(), full=False)
        crawler = process.create_crawler(spider)
        crawler.signals.connect(count, signal=signals.item_scraped)
        process.crawl(crawler)
    process.start()
    print(json.dumps(fetched))


if __name__ == "__main__":
    main(sys.argv[1])
