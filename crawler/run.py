"""Run one crawl of some sources in this process and record it as a run. Also `python -m crawler.run`."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.cli.causes import cause_of, source_cause
from crawler.config.paths import entry_parser
from crawler.config.people_file import use_user_people
from crawler.config.sources import Source, default_sources_path, load_sources, select
from crawler.errors import ConfigError
from crawler.extraction.pool import ExtractorPool
from crawler.locks import Busy, FileLock, source_lock
from crawler.monitor.deliver import deliver
from spiders.bounds import most_overdue
from spiders.pipeline import CrawlContext, RunTally
from spiders.settings import BASE_SETTINGS, crawler_process, source_settings
from spiders.source_spider import SourceSpider
from storage.archive import CRAWL_WORD_INDEX_EVERY, Archive, FrontierEntry
from storage.warc import store_for

# (the run's tally, a source, the responses it got so far, whether its crawl ended)
ProgressCallback = Callable[[RunTally, str, int, bool], None]
logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What one crawl did: the `readouts crawl --json` contract."""

    run_id: int
    status: str
    tally: RunTally
    unreached: dict[str, list[str]] = field(default_factory=dict)  # cause -> sources none of whose pages were read
    page_causes: Counter[str] = field(default_factory=Counter)  # cause -> sampled errors of the sources reached

    def as_json(self) -> dict[str, Any]:
        """Return the JSON object printed by `readouts crawl --json`."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            **self.tally.counts(),
            "notified": self.tally.notified,
            "notify_pending": self.tally.notify_pending,
            "error_samples": self.tally.error_samples,
            "stopped": self.tally.stopped,
            "bounded": self.tally.bounded,
        }


def crawl(
    sources: list[Source],
    db_path: str,
    trigger: str = "manual",
    max_pages: int | None = None,
    on_progress: ProgressCallback | None = None,
    log_level: str = "WARNING",
    recheck_all: bool = False,
    full: bool = False,
    wait: bool = False,
    log_file: str | None = None,
) -> RunResult:
    """Crawl the sources once (one Twisted reactor: call once per process) and record the run.

    Each source's known pages that are due (all of them with `recheck_all`) are re-checked; `full` walks every
    listing page instead of stopping at the first that lists only known articles. A source that another process
    is crawling raises Busy, or is waited for with `wait`. With `log_file`, Scrapy's log goes there (replaced).
    """
    locks = [source_lock(db_path, s.name) for s in sources]
    taken: list[FileLock] = []
    try:
        for lock in locks:
            lock.acquire(wait=wait)
            taken.append(lock)
        return _crawl(sources, db_path, trigger, max_pages, on_progress, log_level, recheck_all, full, log_file)
    finally:
        for lock in taken:
            lock.release()


def _crawl(
    sources: list[Source],
    db_path: str,
    trigger: str,
    max_pages: int | None,
    on_progress: ProgressCallback | None,
    log_level: str,
    recheck_all: bool,
    full: bool,
    log_file: str | None = None,
) -> RunResult:
    """Crawl the sources (their locks held) and record the run."""
    archive = Archive(db_path, word_index_every=CRAWL_WORD_INDEX_EVERY)
    archive.reap_dead_runs()
    run_id = archive.start_run([s.name for s in sources], trigger, pid=os.getpid())
    tally = RunTally()
    pool = ExtractorPool()
    warc = store_for(db_path)
    context = CrawlContext(archive, pool, tally, warc)
    status = "failed"
    result = RunResult(run_id, status, tally)
    logs = {"LOG_FILE": log_file, "LOG_FILE_APPEND": False} if log_file else {}
    try:
        process = crawler_process({**BASE_SETTINGS, "LOG_LEVEL": log_level, **logs})
        crawlers, rechecks_left = [], {}
        for source in sources:
            known = frozenset(archive.known_urls(source.name))
            bound = bound_of(source, max_pages)
            taken, rechecks_left[source.name] = most_overdue(archive.due_pages(source.name, every=recheck_all), bound)
            due = tuple((d.url, d.etag, d.last_modified) for d in taken)
            resume = tuple((e.url, e.kind) for e in archive.frontier(source.name))
            spider_cls = SourceSpider.for_source(
                source,
                known,
                source_settings(source),
                due=due,
                full=full,
                max_pages=bound,
                resume=resume,
                context=context,
            )
            crawler = process.create_crawler(spider_cls)
            if on_progress:
                _report_progress(crawler, source.name, tally, on_progress)
            process.crawl(crawler)
            crawlers.append(crawler)
        process.start()
        unreachable, skip = 0, set()
        for source, crawler in zip(sources, crawlers, strict=True):
            stats = crawler.stats
            assert stats is not None
            samples = stats.get_value("readouts/error_samples") or []
            for sample in samples:
                tally.error(sample["url"], sample["error"])
            _keep_frontier(archive, source, crawler, bound_of(source, max_pages), rechecks_left[source.name], tally)
            if stats.get_value("readouts/stopped"):
                tally.stopped[source.name] = stats.get_value("readouts/stopped")
                tally.error(source.name, tally.stopped[source.name])
            if not stats.get_value("readouts/listing_pages") and not stats.get_value("readouts/feed_entries"):
                unreachable += 1
                tally.error(source.name, "no listing page, feed or sitemap could be read")
                cause = source_cause(s["error"] for s in samples)
                result.unreached.setdefault(cause, []).append(source.name)
                skip.update([source.name, *(s["url"] for s in samples)])
        # the sample of errors (articles' first, then listings') minus those of sources not reached at all
        result.page_causes.update(cause_of(s["error"]) for s in tally.error_samples if s["url"] not in skip)
        # a run is "failed" only when no source could be read at all; partial trouble is counted in errors
        status = result.status = "failed" if unreachable == len(sources) else "ok"
    finally:
        archive.finish_run(run_id, status, tally.counts(), tally.error_samples, tally.stopped, tally.bounded)
        try:
            tally.notified, tally.notify_pending = deliver(archive, sources)
        except Exception:  # a notification problem never fails the crawl; the events stay in the archive
            logger.exception("could not send notifications")
        pool.close()
        context.warc_writer.shutdown(wait=True)
        warc.close()
        archive.close()
    return result


def bound_of(source: Source, max_pages: int | None) -> int:
    """Return the bound of this crawl of the source: `--max-pages`, else the source's `max_pages`."""
    return max_pages or source.max_pages


def _keep_frontier(
    archive: Archive, source: Source, crawler: Crawler, bound: int, rechecks_left: int, tally: RunTally
) -> None:
    """Keep where the source's crawl stopped for the next one, and say in the run when its bound cut it."""
    spider = crawler.spider
    if not isinstance(spider, SourceSpider):
        return
    frontier = spider.frontier()
    archive.keep_frontier(source.name, [FrontierEntry(url, kind) for url, kind in frontier])
    if spider.cut or rechecks_left:
        tally.bounded[source.name] = {"max_pages": bound, "resume_at": len(frontier), "rechecks_left": rechecks_left}


def _report_progress(crawler: Crawler, name: str, tally: RunTally, on_progress: ProgressCallback) -> None:
    """Call on_progress after each response and item of a source's crawl, and when it ends."""

    def report(finished: bool) -> None:
        """Report the source's count of responses and the run's tally."""
        stats = crawler.stats
        on_progress(tally, name, (stats.get_value("downloader/response_count") or 0) if stats else 0, finished)

    # weak=False: the dispatcher holds receivers weakly, and nothing else holds these closures
    for signal in (signals.response_received, signals.item_scraped):
        crawler.signals.connect(lambda *a, **k: report(False), signal=signal, weak=False)
    crawler.signals.connect(lambda *a, **k: report(True), signal=signals.spider_closed, weak=False)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry for one crawl in its own process (used by the scheduler)."""
    parser = entry_parser("python -m crawler.run", __doc__ or "")
    parser.add_argument("names", nargs="*", help="sources to crawl (default: all)")
    parser.add_argument("--trigger", default="manual", choices=["manual", "scheduled"])
    parser.add_argument("--max-pages", type=int, default=None)
    parser.add_argument("--wait", action="store_true", help="wait for a crawl of the same source to end")
    args = parser.parse_args(argv)
    try:
        sources = select(load_sources(args.sources), args.names)
        use_user_people(args.sources or default_sources_path())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    try:
        result = crawl(sources, args.db, trigger=args.trigger, max_pages=args.max_pages, wait=args.wait)
    except Busy as exc:
        print(f"error: {exc} (a crawl of it is running)", file=sys.stderr)
        return 3
    print(json.dumps(result.as_json()))
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
