"""Re-run extraction over stored captures (all cores) and refresh the archive's texts, without fetching anything."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from crawler import boilerplate
from crawler.article import article_text
from crawler.extract import Extracted, Failure, extract
from storage.archive import Archive
from storage.changes import latest_captures
from storage.warc import WarcStore, store_for


@dataclass
class ReextractTally:
    """What a re-extraction did."""

    pages: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    missing: int = 0  # captures whose WARC file could not be read


def _extract_capture(job: tuple[str, str, int, str]) -> Extracted | Failure | None:
    """Read one capture's body from its WARC file and extract it (runs in a worker process)."""
    directory, file, offset, url = job
    try:
        captured = WarcStore(directory).read(file, offset)
    except (OSError, ValueError):
        return None
    content_type = next((v for k, v in captured.headers if k.lower() == "content-type"), None)
    return extract(captured.body, url, content_type)


def reextract(
    db_path: str, source: str | None = None, jobs: int | None = None, on_page: Callable[[], None] | None = None
) -> ReextractTally:
    """Re-extract every page's newest capture and update documents, revisions and events where the text differs."""
    archive = Archive(db_path)
    store = store_for(db_path)
    tally = ReextractTally()
    try:
        rows: list[dict[str, Any]] = latest_captures(archive.db, source)
        jobs_list = [(str(store.directory), r["warc_file"], r["warc_offset"], r["url"]) for r in rows]
        templates: dict[str, frozenset[str]] = {}
        with ProcessPoolExecutor(jobs or os.cpu_count() or 1) as pool:
            for row, result in zip(rows, pool.map(_extract_capture, jobs_list, chunksize=16), strict=True):
                tally.pages += 1
                if on_page:
                    on_page()
                if result is None:
                    tally.missing += 1
                    continue
                if isinstance(result, Failure):
                    tally.failed += 1
                    continue
                host = row["host"]
                if host not in templates:
                    counts, pages = archive.site_line_counts(host)
                    templates[host] = boilerplate.template_keys(counts, pages)
                article = article_text(result, templates[host])
                if article is None:
                    tally.failed += 1
                elif archive.reextracted(row["page_id"], article):
                    tally.updated += 1
                else:
                    tally.unchanged += 1
    finally:
        archive.close()
    return tally
