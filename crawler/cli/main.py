"""The `readouts` command line: a thin layer over crawler.run and storage.query."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from crawler.cli import export_files
from crawler.cli.context import Context
from crawler.cli.file_errors import (
    QUIET,
    InputError,
    archive_problem,
    database_error_message,
    os_error_message,
    say,
    stdout_to,
    writable_output,
)
from crawler.cli.params import DAY
from crawler.cli.terminal import printable, show
from crawler.config.paths import DB_DEFAULT_SHOWN, DB_HELP, SOURCES_DEFAULT_SHOWN, SOURCES_HELP, default_db
from crawler.config.sources import default_sources_path, load_sources, select
from crawler.errors import ConfigError
from storage import query
from storage.archive import Archive
from storage.errors import SearchError
from storage.warc import store_for


class ReadoutsGroup(click.Group):
    """The command group: an archive or output-file error becomes one line naming the file, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn SQLite and file-system errors into messages."""
        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as exc:
            db = ctx.obj.db if isinstance(ctx.obj, Context) else default_db()
            raise click.ClickException(database_error_message(exc, db)) from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click ends quietly on a closed pipe
            raise click.ClickException(os_error_message(exc, "the standard output")) from None


def _fail_config(exc: ConfigError) -> None:
    """Report a bad sources file and exit with code 2 before anything runs."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def _emit_json(record: Any) -> None:
    """Print one JSON object on its own line."""
    click.echo(json.dumps(record, ensure_ascii=False))


@click.group(cls=ReadoutsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH",
    default=default_db,
    show_default=DB_DEFAULT_SHOWN,
    help=DB_HELP,
)
@click.option(
    "--sources",
    "sources_path",
    metavar="PATH",
    default=default_sources_path,
    show_default=SOURCES_DEFAULT_SHOWN,
    help=SOURCES_HELP,
)
@click.version_option(package_name="readouts")
@click.pass_context
def main(ctx: click.Context, db: str, sources_path: str) -> None:
    """readouts: crawl, deduplicate and archive official readouts of diplomatic meetings.

    Crawl the configured sources into one SQLite archive, then search, browse and export it.
    """
    ctx.obj = Context(db, sources_path)
    from crawler.config.people_file import use_user_people

    try:
        use_user_people(sources_path)
    except ConfigError as exc:
        _fail_config(exc)


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--max-pages", type=click.IntRange(min=1), help="Bound on new articles (and re-checks) per source for this crawl."
)
@click.option("--recheck", is_flag=True, help="Re-check every known page of these sources now, not only the due ones.")
@click.option("--full", is_flag=True, help="Walk every listing page (no stop at the first page of known articles).")
@click.option("--wait", is_flag=True, help="When another process crawls one of these sources, wait for it to end.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the run's counts.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log (INFO level) here, not in <archive>.crawl.log.")
@click.option("-q", "--quiet", is_flag=True, help="No progress and no summary unless the run failed.")
@click.option("--redis", "redis_url", metavar="URL", help="Crawl on the cluster (default: the file's [cluster] redis).")
@click.pass_obj
def crawl(
    obj: Context,
    names: tuple[str, ...],
    max_pages: int | None,
    recheck: bool,
    full: bool,
    wait: bool,
    as_json: bool,
    verbose: bool,
    quiet: bool,
    redis_url: str | None,
) -> None:
    """Crawl the named sources once (all sources when none are named).

    Known pages that are due (1 h, 6 h, 1 d, 3 d, 7 d, 14 d after they appeared or changed, then every
    `recheck_every`) are re-checked with conditional requests; listing pages stop at the first page that lists only
    known articles. Prints progress on a terminal and a summary at the end, errors grouped by cause; Scrapy's own
    log goes to <archive>.crawl.log (to the terminal with -v). With --json, one object:
    {"run_id", "pages_fetched", "new_pages", "new_documents", "duplicates", "failed", "errors", "rechecked",
    "unchanged", "changed", "gone", "moved", "recleaned", ...}. In cluster mode (--redis, or [cluster] redis in the
    sources file) the crawl is asked of the cluster's writer and done by its workers; this waits for its outcome;
    --max-pages, --recheck and --full bound the cluster's crawl of each source as a whole.
    """
    from crawler.cli.cluster import cluster_crawl, cluster_url
    from crawler.cli.progress import Progress
    from crawler.run import crawl as run_crawl

    try:
        sources = select(load_sources(obj.sources), names)
    except ConfigError as exc:
        _fail_config(exc)
    url = cluster_url(obj.sources, redis_url)
    if url is not None:
        cluster_crawl(
            obj.sources, url, names, as_json, bounds={"max_pages": max_pages, "recheck": recheck, "full": full}
        )
        return
    obj.writable()
    from crawler.cli.crawl_summary import summary_lines
    from crawler.locks import Busy

    log_file = None if verbose else f"{obj.db}.crawl.log"
    try:
        with Progress(enabled=sys.stderr.isatty() and not verbose and not quiet) as progress:
            result = run_crawl(
                sources,
                obj.db,
                max_pages=max_pages,
                # not shown: no receiver of Scrapy's signals for every response
                on_progress=progress.update if progress.enabled else None,
                log_level="INFO" if verbose else "WARNING",
                recheck_all=recheck,
                full=full,
                wait=wait,
                log_file=log_file,
            )
    except Busy as exc:
        raise click.ClickException(f"{exc}: it is being crawled now; use --wait to crawl after it") from None
    if as_json:
        _emit_json(result.as_json())
    elif not quiet or result.status != "ok":
        for line in summary_lines(result, len(sources), log_file):
            click.echo(line, err=True)
    sys.exit(0 if result.status == "ok" else 1)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source.")
@click.option("--check", is_flag=True, help="Only validate the file (patterns, names, starts); touch no archive.")
@click.option(
    "--try", "dry_run", is_flag=True, help="Dry run of the one source named: what it would follow and archive."
)
@click.option("--max-pages", type=click.IntRange(min=1), default=10, show_default=True, help="Requests of --try.")
@click.option("--new", nargs=2, metavar="NAME URL", help="Propose a source entry from the listing page at URL.")
@click.option("-v", "--verbose", is_flag=True, help="With --try or --new: show Scrapy's log.")
@click.pass_obj
def sources(
    obj: Context,
    names: tuple[str, ...],
    as_json: bool,
    check: bool,
    dry_run: bool,
    max_pages: int,
    new: tuple[str, str] | None,
    verbose: bool,
) -> None:
    """Check the sources file and show how each source is doing (exit 2 when the file is invalid).

    Per source: schedule, last run, last success, consecutive failures, pages and new documents in the last run and
    the last 7 days, and alerts: no new article for `stale_after` (default 14d), or more than 20% of the last run's
    pages failing extraction (a sign that the site's template changed).

    `--try NAME` fetches a few pages of one source as a crawl would and prints the links it would follow and archive
    and one article's title, date and first lines, writing nothing. `--new NAME URL` proposes an entry from a listing
    page: the shape most of its links share, its pagination, the feeds and sitemaps it links to.
    """
    from crawler.cli import preview as cli_preview
    from storage.clock import utcnow
    from storage.health import source_health

    if new:
        cli_preview.new_source(new[0], new[1], verbose)
        return
    try:
        selected = select(load_sources(obj.sources), names)
    except ConfigError as exc:
        _fail_config(exc)
    if dry_run:
        if len(names) != 1:
            raise click.UsageError("--try takes the name of one source")
        cli_preview.try_source(selected[0], max_pages, verbose)
        return
    if check:
        scheduled = sum(1 for s in selected if s.every or s.cron)
        click.echo(f"ok: {obj.sources}: {len(selected)} sources, {scheduled} scheduled")
        return
    archive: Archive | None = None
    if os.path.exists(obj.db):
        archive = obj.reader()
    now = utcnow()
    for source in selected:
        health: dict[str, Any] = {"source": source.name}
        if archive is not None:
            health = source_health(archive.db, source.name, now, source.stale_after_seconds)
        record = {
            **health,
            "every": source.every,
            "cron": source.cron,
            "urls": list(source.start_urls + source.feeds + source.sitemaps),
        }
        if as_json:
            _emit_json(record)
            continue
        schedule = f"every {source.every}" if source.every else f"cron {source.cron}" if source.cron else "manual"
        last = record.get("last_run") or {}
        show(
            f"{source.name}\t{schedule}\tlast run {last.get('status', '-')} {last.get('started', '')}\t"
            f"7d: {record.get('new_documents_7d', 0)} new documents\t{', '.join(record['urls'])}"
        )
        for alert in record.get("alerts", []):
            show(f"  ALERT: {alert}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "txt"]), default="jsonl", show_default=True)
@click.option("--source", help="Only pages of this source.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --format txt: the folder to write one text file per document into.",
)
@click.pass_obj
@click.option("--output", metavar="FILE", help="Write to this file (made whole at the end), not stdout.")
@QUIET
def export(
    obj: Context, fmt: str, source: str | None, output_dir: Path | None, output: str | None, quiet: bool
) -> None:
    """Export one record per archived article page to stdout, or one text file per document to a folder.

    Fields: url, source, title, published, language, text, content_hash, document_id, first_seen, last_checked.
    With `--format txt --output-dir DIR`: files named DATE-TITLE-HASH.txt (letters and digits of the title only,
    never a path), each with a header of title, date and copies, then the text. In CSV, a cell starting with
    =, +, -, @, a tab or a carriage return gets a leading ' so spreadsheets show it as text; JSONL keeps exact text.
    """
    if (fmt == "txt") != (output_dir is not None):
        raise click.UsageError("--format txt and --output-dir go together")
    writable_output(output_dir, folder=True)
    writable_output(output)
    archive = obj.reader()
    if source and source not in (known := query.source_names(archive.db)):
        raise InputError(f"no source {source!r} in {obj.db} (it has {', '.join(known) or 'none yet'})")
    with stdout_to(output):
        _export(archive, fmt, source, output_dir, quiet)


def _export(archive: Archive, fmt: str, source: str | None, output_dir: Path | None, quiet: bool) -> None:
    """Write the export to stdout, or the text files to output_dir."""
    rows: Iterable[dict[str, Any]] = query.export_pages(archive.db, source)
    if output_dir is not None:
        written = export_files.write_documents(rows, output_dir)
        say(f"wrote {len(written)} documents to {output_dir}", quiet)
    elif fmt == "jsonl":
        for row in rows:
            _emit_json(row)
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(query.EXPORT_FIELDS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: export_files.spreadsheet_cell(v) for k, v in row.items()} for row in rows)


@main.command()
@click.option("--source", help="Only documents with a copy from this source.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def documents(obj: Context, source: str | None, as_json: bool) -> None:
    """List documents (one per distinct readout text) with their copies."""
    archive = obj.reader()
    for doc in query.documents(archive.db, source):
        if as_json:
            _emit_json(doc)
            continue
        show(f"#{doc['document_id']}  {doc['published'] or '----------'}  {doc['title'] or '(no title)'}")
        for copy in doc["copies"]:
            show(f"      {copy['source']}: {copy['url']}")
        for copy in doc["superseded"]:
            show(f"      superseded (the page's text was edited since): {copy['source']}: {copy['url']}")


@main.command()
@click.argument("query_text", metavar="QUERY")
@click.option("--source", help="Only documents with a copy from this source.")
@click.option("--since", type=DAY, help="Published on or after this date (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Published on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--raw", is_flag=True, help='Treat QUERY as SQLite FTS5 syntax (OR, NEAR, "phrases", prefix*).')
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def search(
    obj: Context,
    query_text: str,
    source: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    raw: bool,
    as_json: bool,
) -> None:
    """Full-text search of titles and texts (Chinese and Russian too), best match first.

    Every word must match; "quoted words" match as a phrase. A query starting with "-" goes after `--`:
    `readouts search -- -word`.
    """
    archive = obj.reader()
    try:
        rows = query.search(archive.db, query_text, source=source, since=since, until=until, limit=limit, raw=raw)
    except SearchError as exc:
        raise click.ClickException(str(exc)) from None
    if not rows and not as_json:
        click.echo(f"no matches for {query_text!r}", err=True)
    for rank, row in enumerate(rows, 1):
        if as_json:
            _emit_json(row)
            continue
        show(f"{rank:>2}. {row['published'] or '----------'}  {row['title'] or '(no title)'}")
        show(f"    document id {row['document_id']}: " + " ".join((row["snippet"] or "").split()))
        for copy in row["copies"]:
            show(f"    {copy['source']}: {copy['url']}")


@main.command()
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def runs(obj: Context, limit: int | None, as_json: bool) -> None:
    """Show the crawl history, newest first."""
    archive = obj.reader()
    for run in query.runs(archive.db, limit):
        if as_json:
            _emit_json(run)
            continue
        rechecks = (
            f" (re-checked {run['rechecked']}: {run['changed']} changed, {run['gone']} gone, {run['moved']} moved)"
            if run.get("rechecked")
            else ""
        )
        show(
            f"{run['run_id']:>5}  {run['started']}  {run['status']:<8} {run['trigger']:<9} "
            f"{','.join(run['sources'])}: {run['pages_fetched']} fetched, {run['new_documents']} new documents, "
            f"{run['failed']} failed, {run['errors']} errors{rechecks}"
        )


@main.command()
@click.option("--list", "as_list", is_flag=True, help="Print each source's schedule and next run time, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --list: one JSON object per source.")
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds a running crawl may take to finish after SIGTERM.",
)
@click.option(
    "--redis", "redis_url", metavar="URL", help="Cluster mode: crawls go to the workers (default: [cluster] redis)."
)
@click.pass_obj
def schedule(obj: Context, as_list: bool, as_json: bool, grace: float, redis_url: str | None) -> None:
    """Run the scheduling daemon: each source with `every` or `cron` is crawled on its schedule until SIGTERM.

    One daemon per archive; each crawl runs in its own process with the source's `timeout`. Next run times are kept
    in <archive>.jobs.sqlite, so a restart continues the schedule (a missed run happens once when back).
    With --list, a table of each source's schedule and next run (--json: {"source", "every", "cron", "timeout",
    "next_run", "following_run"}); a source the daemon has not run yet runs when it starts.
    In cluster mode each due source is enqueued for the workers through the writer (which must run), not crawled here.
    """
    import scheduler

    if not as_list:
        cluster = ["--redis", redis_url] if redis_url is not None else []
        sys.exit(scheduler.main(["--db", obj.db, "--sources", obj.sources, "--grace", str(grace), *cluster]))
    try:
        rows = scheduler.list_schedule(obj.db, load_sources(obj.sources))
    except ConfigError as exc:
        _fail_config(exc)
    for row in rows:
        if as_json:
            _emit_json(row)
            continue
        plan = f"every {row['every']}" if row["every"] else f"cron {row['cron']}" if row["cron"] else "manual"
        if not (row["every"] or row["cron"]):
            when = "-"
        elif row["next_run"]:
            when = row["next_run"]
        else:
            then = f"every {row['every']}" if row["every"] else row["following_run"]
            when = f"when the daemon starts, then {then}"
        show(f"{row['source']:<28} {plan:<18} next: {when}")


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback: only this machine)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--allow-sql", is_flag=True, help="Let visitors run arbitrary read-only SQL (off by default).")
@click.option("--db", "db_path", metavar="PATH", help="The archive to serve (same as the global --db).")
@click.pass_obj
def serve(obj: Context, host: str, port: int, allow_sql: bool, db_path: str | None) -> None:
    """Browse the archive in a web browser (Datasette): search, meetings side by side, page histories with diffs.

    Read-only and safe while a crawl writes. Arbitrary SQL is off unless --allow-sql; the canned queries (latest
    readouts, meetings, changes of the last 7 days, source health) always work.
    """
    from crawler.web.serve import run as run_web

    if db_path:
        obj = Context(db_path, obj.sources)
    obj.require()
    Archive(obj.db).close()  # bring an older archive's schema up to date (the browsing view)
    click.echo(f"serving {obj.db} at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    run_web(obj.db, host, port, allow_sql)


@main.command()
@click.option("--db", "db_path", metavar="PATH", help="The demo archive  [default: ./readouts-demo.db]")
@QUIET
@click.pass_context
def demo(ctx: click.Context, db_path: str | None, quiet: bool) -> None:
    """Try the whole product offline: serve a small sample web, crawl it, edit a readout, re-crawl, report.

    The sample web (the seed readouts republished by a ministry, an embassy and a news portal) runs on loopback;
    nothing touches the network. A previous demo archive is replaced; any other file is left alone.
    """
    from crawler.demo.run import NotADemoArchive, run_demo

    parent = ctx.parent
    given = parent is not None and parent.get_parameter_source("db") != click.core.ParameterSource.DEFAULT
    path = Path(db_path or (ctx.obj.db if given else "readouts-demo.db"))
    try:
        run_demo(path, click.echo, quiet)
    except NotADemoArchive as exc:
        raise click.ClickException(str(exc)) from None
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--no-captures", is_flag=True, help="Copy only the database, not its WARC captures (`capture` fails on the copy)."
)
@QUIET
@click.pass_obj
def backup(obj: Context, path: str, no_captures: bool, quiet: bool) -> None:
    """Copy the archive to PATH safely, even while a crawl writes: the database (SQLite's online backup API), then
    its WARC captures to PATH.warc/. Restore by using PATH (with PATH.warc/ beside it) as --db."""
    from storage.maintenance import backup as run_backup

    obj.require()
    if os.path.exists(path):
        raise click.ClickException(f"{path} exists; choose a new file")  # exit 1, as before
    writable_output(path)
    try:
        report = run_backup(obj.db, path, captures=not no_captures)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, sqlite3.DatabaseError) as exc:
        Path(path).unlink(missing_ok=True)  # no half-written copy left behind
        if not no_captures:  # PATH.warc/ did not exist before (run_backup refuses one that does)
            shutil.rmtree(store_for(path).directory, ignore_errors=True)
        raise click.ClickException(f"cannot copy the archive to {path}: {exc}") from None
    if report.captures is None:
        say(f"archive copied to {path}; captures NOT copied (--no-captures): `capture` fails on it", quiet)
    else:
        size = f"{report.warc_bytes / 1e6:.1f} MB"
        say(f"archive copied to {path}; {report.warc_files} WARC files ({size}) to {report.captures}", quiet)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per check.")
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """Check the archive: SQLite integrity, the FTS index, that copies, pages and documents agree, and that every
    revision's capture is in the WARC files with the bytes its digests name (exit 1 if not).

    Safe while a crawl writes; FTS5's own integrity check needs a writable connection but changes nothing.
    """
    from storage.maintenance import check as run_check

    obj.require()
    # FTS5's own check needs a writable connection: an archive the user may not write is checked read-only
    writable = archive_problem(Path(obj.db), write=True) is None
    with Archive(obj.db, readonly=not writable) as archive:
        results = run_check(archive.db, store_for(obj.db), fts=writable)
    for result in results:
        if as_json:
            _emit_json(result)
            continue
        show(f"{'ok  ' if result['ok'] else 'FAIL'}  {result['check']}  {result['detail']}")
        for problem in result.get("problems", []):
            show(f"      {problem['url']} revision {problem['revision']}: {problem['reason']}")
    sys.exit(0 if all(r["ok"] for r in results) else 1)


@main.command()
@click.option("--participant", metavar="NAME", help='Only meetings of this person (any known form: "Xi", "习近平").')
@click.option("--since", type=DAY, help="Meetings on or after this date (YYYY-MM-DD).")
@click.option("--until", type=DAY, help="Meetings on or before this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per meeting.")
@click.pass_obj
def meetings(obj: Context, participant: str | None, since: str | None, until: str | None, as_json: bool) -> None:
    """List meetings (talks, meetings, calls, exchanges of messages) with the documents that report them.

    JSON: {"meeting_id", "date", "kind", "place", "participants", "documents": [{"document_id", "title", "url",
    "source", "language", "kind", "copies": [{"url", "source", "first_seen", "published"}]}], "announcements":
    [{"document_id", "title", "published"}]} (a document's kind: talks, press statements, visit …; announcements of
    the meeting join none). A document's copies list the original publisher's first (earliest date on the page),
    and its url and source are that copy's.
    """
    from crawler.config.people_file import user_people_path
    from crawler.extraction.meetings import canonical
    from storage.meetings import meetings as list_meetings

    name = None
    if participant:
        name = canonical(participant)
        if name is None:
            where = user_people_path(obj.sources)
            raise click.ClickException(
                f"unknown person {participant!r} (known: crawler/config/people.toml and {where})"
            )
    archive = obj.reader()
    for meeting in list_meetings(archive.db, name, since, until):
        if as_json:
            _emit_json(meeting)
            continue
        show(
            f"#{meeting['meeting_id']}  {meeting['date'] or '----------'}  {meeting['kind']}"
            f"{' in ' + meeting['place'] if meeting['place'] else ''}: {', '.join(meeting['participants'])}"
        )
        for doc in meeting["documents"]:
            show(f"      {doc['source']}: [{doc['kind'] or meeting['kind']}] {doc['title']}  {doc['url']}")
        for note in meeting["announcements"]:
            show(f"      announced {note['published'] or ''}: {note['title']}")
    if not as_json and not participant:
        _unnamed_readouts(archive, obj.sources)


def _unnamed_readouts(archive: Archive, sources_path: str) -> None:
    """Say which readouts of meetings name no known person, and where to add people."""
    from crawler.config.people_file import user_people_path
    from crawler.extraction.meetings import meeting_kind
    from storage.meetings import documents_without_meeting

    unnamed = [(i, t) for i, t in documents_without_meeting(archive.db) if meeting_kind(t)]
    if not unnamed:
        return
    click.echo(
        f"{len(unnamed)} readouts of meetings name no known person, so they are in no meeting; add the people to "
        f'{user_people_path(sources_path)} ("Full Name" = ["Full Name", "other spellings"]):',
        err=True,
    )
    for doc_id, title in unnamed[:5]:
        click.echo(f"  document id {doc_id}: {printable(title or '')}", err=True)
    if len(unnamed) > 5:
        click.echo(f"  … and {len(unnamed) - 5} more", err=True)


from crawler.cli.changes import register  # noqa: E402 (the change-monitoring commands join the group defined above)
from crawler.cli.cluster import register as register_cluster  # noqa: E402
from crawler.cli.compare import register as register_compare  # noqa: E402
from crawler.cli.history import register as register_history  # noqa: E402

register(main)
register_compare(main)
register_cluster(main)
register_history(main)
