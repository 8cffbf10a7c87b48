"""Re-run extraction over stored captures (all cores) and refresh the archive's texts, without fetching anything."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from crawler.extraction import boilerplate
from crawler.extraction.article import article_text
from crawler.extraction.extract import Failure, extract
from crawler.model import ArticleText
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


_templates: dict[str, frozenset[str]] = {}  # each worker's copy of the sites' template lines, set at its start


def _set_templates(templates: dict[str, frozenset[str]]) -> None:
    """Give a worker process the template lines of every site (once, rather than with every page)."""
    _templates.update(templates)


def _extract_capture(job: tuple[str, str, int, str, str]) -> ArticleText | Failure | None:
    """Read one capture's body from its WARC file, extract and clean it (runs in a worker process)."""
    directory, file, offset, url, host = job
    try:
        captured = WarcStore(directory).read(file, offset)
    except (OSError, ValueError):
        return None
    content_type = next((v for k, v in captured.headers if k.lower() == "content-type"), None)
    extracted = extract(captured.body, url, content_type)
    if isinstance(extracted, Failure):
        return extracted
    return article_text(extracted, _templates.get(host, frozenset())) or Failure("empty after cleaning")


def reextract(
    db_path: str, source: str | None = None, jobs: int | None = None, on_page: Callable[[], None] | None = None
) -> ReextractTally:
    """Re-extract every page's newest capture and update documents, revisions and events where the text differs."""
    archive = Archive(db_path)
    store = store_for(db_path)
    tally = ReextractTally()
    try:
        rows: list[dict[str, Any]] = latest_captures(archive.db, source)
        jobs_list = [(str(store.directory), r["warc_file"], r["warc_offset"], r["url"], r["host"]) for r in rows]
        templates = {
            host: boilerplate.site_template(archive.site_line_counts(host)) for host in {r["host"] for r in rows}
        }
        workers = jobs or os.cpu_count() or 1
        with ProcessPoolExecutor(workers, initializer=_set_templates, initargs=(templates,)) as pool:
            for row, result in zip(rows, pool.map(_extract_capture, jobs_list, chunksize=16), strict=True):
                tally.pages += 1
                if on_page:
                    on_page()
                if result is None:
                    tally.missing += 1
                elif isinstance(result, Failure):
                    tally.failed += 1
                elif archive.reextracted(row["page_id"], result):
                    tally.updated += 1
                else:
                    tally.unchanged += 1
    finally:
        archive.close()
    return tally
