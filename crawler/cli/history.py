"""The commands that reach back before the first crawl: import WARC files, backfill from web archives."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from crawler.cli.params import DAY
from crawler.config.sources import load_sources, select
from crawler.errors import ConfigError

if TYPE_CHECKING:
    from crawler.cli.main import Context


def register(main: click.Group) -> None:
    """Add the history commands to the `readouts` group."""

    @main.command("import")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
    @click.option("--source", help="Import every HTML page of the files as this source (default: by article patterns).")
    @click.option(
        "--jobs",
        type=click.IntRange(min=1),
        help="Extraction worker processes, and as many cleaning ones (default: one per core).",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object: what was imported.")
    @click.pass_obj
    def import_cmd(obj: Context, files: tuple[str, ...], source: str | None, jobs: int | None, as_json: bool) -> None:
        """Import the HTTP responses of WARC files (wget, Heritrix, Browsertrix, Common Crawl, readouts' own).

        Article pages of the sources (or all HTML pages with --source) are archived as a crawl archives them, with
        the WARC record's date as their capture time and the file as their provenance; older captures become
        earlier revisions.
        """
        from crawler.history.warc_import import Importer, matcher
        from storage import archive as storage_archive
        from storage.warc import store_for

        try:
            sources = load_sources(obj.sources)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if source is not None and source not in sources:
            raise click.BadParameter(f"no source {source!r} in {obj.sources}", param_hint="--source")
        # the search indexes filled once every that many pages, as a crawl fills them: ~0.5 ms a page less
        archive = storage_archive.Archive(obj.db, word_index_every=storage_archive.CRAWL_WORD_INDEX_EVERY)
        store = store_for(obj.db)
        try:
            tally = Importer(archive, store, sources, jobs).run(
                list(files), matcher(sources.values(), sources[source] if source else None)
            )
        finally:
            store.close()
            archive.close()
        if as_json:
            click.echo(json.dumps(asdict(tally), ensure_ascii=False))
        else:
            click.echo(
                f"{tally.files} files, {tally.records} records, {tally.matched} article pages "
                f"({tally.already} imported before): {tally.new_pages} new pages, {tally.new_documents} new documents, "
                f"{tally.duplicates} duplicates, {tally.changed} revisions, {tally.unchanged} unchanged, "
                f"{tally.failed} failed, {tally.unresolved} revisits without their original, "
                f"{tally.recleaned} pages archived before cleaned of a template learned since",
                err=True,
            )
        for problem in tally.unreadable:
            click.echo(f"error: cannot read {problem}", err=True)
        if tally.unreadable:
            sys.exit(1)

    @main.command("backfill")
    @click.argument("names", nargs=-1, required=True)
    @click.option("--from", "start", type=DAY, help="Only captures on or after this day (YYYY-MM-DD).")
    @click.option("--to", "end", type=DAY, help="Only captures on or before this day (YYYY-MM-DD).")
    @click.option(
        "--archive",
        "archive_spec",
        default="ia",
        show_default=True,
        help="ia (the Wayback Machine), cc (Common Crawl), or a pywb/Wayback collection's URL.",
    )
    @click.option("--cc-index", help="Common Crawl's index server, with --archive cc (default: its public one).")
    @click.option("--cc-data", help="Where Common Crawl's WARC files are read, with --archive cc (default: its own).")
    @click.option("--max-pages", type=click.IntRange(min=1), help="Fetch at most this many captures this run.")
    @click.option(
        "--delay", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Seconds between requests."
    )
    @click.option(
        "--jobs",
        type=click.IntRange(min=1),
        help="Extraction worker processes, and as many cleaning ones (default: one per core).",
    )
    @click.option("--json", "as_json", is_flag=True, help="One JSON object: what was found, fetched and archived.")
    @click.pass_obj
    def backfill_cmd(
        obj: Context,
        names: tuple[str, ...],
        start: str | None,
        end: str | None,
        archive_spec: str,
        cc_index: str | None,
        cc_data: str | None,
        max_pages: int | None,
        delay: float,
        jobs: int | None,
        as_json: bool,
    ) -> None:
        """Archive the sources' article pages as a web archive captured them (CDX index, original bytes).

        The Wayback Machine (ia, the default), Common Crawl (cc: every crawl in the date range, each capture read as
        a WARC record's byte range) or any pywb/Wayback collection; a paged index is read page by page. Each capture
        becomes a revision dated by its capture time, with the archive and memento URL as provenance;
        older texts are changes found in retrospect (never notified). Polite (one request per --delay, 429 and
        Retry-After honoured) and resumable: a second run fetches only what the archive does not have, and a paged
        query an interrupted run left half read goes on at its next page.
        """
        from crawler.history.backfill import CC_DATA, CC_INDEX, Backfill, BackfillError, web_archive

        try:
            sources = load_sources(obj.sources)
            chosen = select(sources, list(names))
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        try:
            web = web_archive(archive_spec, cc_index or CC_INDEX, cc_data or CC_DATA)
        except BackfillError as exc:
            raise click.UsageError(str(exc)) from None
        try:
            job = Backfill(obj.db, sources, web, delay, jobs)
            tally = job.run(
                [s.name for s in chosen], start, end, max_pages, progress=lambda line: click.echo(line, err=True)
            )
        except BackfillError as exc:
            raise click.ClickException(str(exc)) from None
        if as_json:
            click.echo(json.dumps(asdict(tally), ensure_ascii=False))
        else:
            click.echo(
                f"{tally.captures} captures found ({tally.already} archived before), {tally.fetched} fetched: "
                f"{tally.new_pages} new pages, {tally.changed} revisions, {tally.unchanged} unchanged, "
                f"{tally.failed} failed; waited {tally.waited:.0f}s on the archive's 429s",
                err=True,
            )
