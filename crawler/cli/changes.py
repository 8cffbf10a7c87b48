"""The change-monitoring commands: changes, history, diff, feed, capture, reextract, notify."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from typing import Any

import click

from crawler.cli.context import Context
from crawler.cli.file_errors import QUIET, say
from crawler.cli.params import MOMENT
from crawler.cli.terminal import printable, show
from crawler.config.sources import load_sources, select
from crawler.errors import ConfigError, NotFound
from crawler.monitor.word_diff import line_runs, words_changed
from storage import changes
from storage.archive import EVENT_KINDS
from storage.warc import store_for


def _emit(record: Any) -> None:
    """Print one JSON object on its own line."""
    click.echo(json.dumps(record, ensure_ascii=False))


def _colour_diff(diff: str) -> None:
    """Print a unified diff, coloured when stdout is a terminal, the changed words of a changed paragraph marked."""
    lines = diff.splitlines()
    for line, runs in zip(lines, line_runs(lines), strict=True):
        colour = None
        if line.startswith(("+++", "---")):
            colour = "bright_white"
        elif line.startswith("+"):
            colour = "green"
        elif line.startswith("-"):
            colour = "red"
        elif line.startswith("@@"):
            colour = "cyan"
        styled = "".join(click.style(printable(text), fg=colour, reverse=changed) for text, changed in runs)
        click.echo(styled)


def register(main: click.Group) -> None:
    """Add the change-monitoring commands to the `readouts` group."""

    @main.command("changes")
    @click.option("--since", type=MOMENT, help="Only events at or after this time (YYYY-MM-DD or ISO 8601 UTC).")
    @click.option("--source", help="Only events of this source.")
    @click.option("--kind", type=click.Choice(EVENT_KINDS), multiple=True, help="Only these kinds (repeatable).")
    @click.option("--limit", type=click.IntRange(min=1), help="Only the newest N events.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
    @click.pass_obj
    def changes_cmd(
        obj: Context, since: str | None, source: str | None, kind: tuple[str, ...], limit: int | None, as_json: bool
    ) -> None:
        """List change events, oldest first: new, changed, gone, back and moved pages.

        JSON fields: at, kind, url, source, title, revision, previous_hash, content_hash, diff (for "changed"),
        target (for "moved").
        """
        archive = obj.reader()
        for event in changes.events(archive.db, since=since, source=source, kinds=kind, limit=limit):
            if as_json:
                _emit(event)
                continue
            extra = f" -> {event['target']}" if event["target"] else ""
            show(f"{event['at']}  {event['kind']:<8} {event['source']}: {event['title'] or ''}")
            show(f"      {event['url']}{extra}")

    @main.command()
    @click.argument("url")
    @click.option("--text", "full", is_flag=True, help="Print each revision's whole text, not one line per revision.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per revision.")
    @click.pass_obj
    def history(obj: Context, url: str, full: bool, as_json: bool) -> None:
        """Show the revisions of a page: one line each (when, hash, words added and removed), or the texts (--text)."""
        archive = obj.reader()
        revisions = changes.history(archive.db, url)
        if not revisions:
            raise click.ClickException(f"no revisions of {url} in the archive")
        previous = ""
        for rev in revisions:
            if as_json:
                _emit(rev)
                continue
            head = f"revision {rev['revision']}  {rev['captured_at']}  {rev['content_hash'][:16]}"
            if rev["origin"] != "live":  # captured by a web archive or another crawler: say which, and where
                head += f"  from {rev['origin']} {rev['origin_url'] or ''}".rstrip()
            if full:
                show(f"{head}  {rev['title']}")
                show("    " + rev["text"].replace("\n", "\n    "))
            else:
                added, removed = words_changed(previous, rev["text"])
                show(f"{head}  +{added} -{removed} words  {rev['title']}")
            previous = rev["text"]

    @main.command()
    @click.argument("url")
    @click.option("--from", "old", type=click.IntRange(min=1), help="Older revision (default: the one before --to).")
    @click.option("--to", "new", type=click.IntRange(min=1), help="Newer revision (default: the newest).")
    @click.pass_obj
    def diff(obj: Context, url: str, old: int | None, new: int | None) -> None:
        """Show a unified diff between two revisions of a page, coloured on a terminal."""
        archive = obj.reader()
        try:
            text = changes.revision_diff(archive.db, url, old, new)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
        _colour_diff(text)

    @main.command()
    @click.option("--kind", type=click.Choice(EVENT_KINDS), multiple=True, help="Only these kinds (repeatable).")
    @click.option("--source", help="Only events of this source.")
    @click.option("--since", type=MOMENT, help="Only events at or after this time.")
    @click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="The newest N events.")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file, not stdout.")
    @click.pass_obj
    def feed(
        obj: Context, kind: tuple[str, ...], source: str | None, since: str | None, limit: int, output: str | None
    ) -> None:
        """Write an Atom feed of recent change events (newest first)."""
        from crawler.cli.file_errors import writable_output
        from crawler.monitor.feed import atom_feed
        from storage.archive import Archive
        from storage.identity import identity

        writable_output(output)
        obj.reader().close()  # a clear error when there is no archive
        with contextlib.suppress(sqlite3.Error, OSError):  # a read-only archive keeps the identity it has
            Archive(obj.db).close()  # an older archive gets its identity, the base of the feed's ids
        archive = obj.reader()
        found = changes.events(archive.db, since=since, source=source, kinds=kind, limit=limit)
        me = identity(archive.db)
        if me is None:  # the migration above could not run (a read-only file)
            raise click.ClickException(f"{obj.db} has no archive id yet: open it once writable (readouts check)")
        xml = atom_feed(me, list(reversed(found)), kinds=kind, source=source)
        if output:
            with open(output, "w", encoding="utf-8") as out:
                out.write(xml)
        else:
            click.echo(xml)

    @main.command()
    @click.argument("url")
    @click.option("--revision", type=click.IntRange(min=1), help="The capture of this revision (default: newest).")
    @click.option("--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file, not stdout.")
    @click.option(
        "--wire", is_flag=True, help="The payload exactly as received, still Content-Encoded (gzip, br, ...)."
    )
    @click.pass_obj
    def capture(obj: Context, url: str, revision: int | None, output: str | None, wire: bool) -> None:
        """Write the body of a page as fetched, from the WARC files beside the archive.

        By default the HTTP body with its Content-Encoding undone: the bytes the extractor read, whose SHA-256 is
        `history`'s body_sha256. With --wire, the payload as it came over the wire. What was written is said on
        stderr.
        """
        from crawler.cli.file_errors import writable_output

        writable_output(output)
        archive = obj.reader()
        try:
            file, offset, _ = changes.capture_location(archive.db, url, revision)
            captured = store_for(obj.db).read(file, offset)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"cannot read the capture: {exc}") from None
        body = captured.payload if wire else captured.body
        encoding = ", ".join(v for k, v in captured.headers if k.lower() == "content-encoding")
        if not encoding:
            what = "the body as received (it had no Content-Encoding)"
        elif wire:
            what = f"the payload as received, Content-Encoding {encoding}"
        else:
            what = f"the body with its Content-Encoding ({encoding}) undone; --wire for the bytes as received"
        if output:
            with open(output, "wb") as out:
                out.write(body)
        else:
            sys.stdout.buffer.write(body)
            sys.stdout.flush()
        click.echo(f"{len(body)} bytes: {what} (HTTP {captured.status}, {file} at {offset})", err=True)

    @main.command()
    @click.option("--source", help="Only pages of this source.")
    @click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts.")
    @QUIET
    @click.pass_obj
    def reextract(obj: Context, source: str | None, jobs: int | None, as_json: bool, quiet: bool) -> None:
        """Re-run extraction over the stored captures and refresh texts, without fetching anything."""
        from crawler.extraction.reextract import reextract as run_reextract

        obj.require()
        tally = run_reextract(obj.db, source, jobs)
        if as_json:
            _emit(vars(tally))
        else:
            say(
                f"{tally.pages} pages: {tally.updated} updated, {tally.unchanged} unchanged, {tally.failed} failed, "
                f"{tally.missing} captures missing",
                quiet,
            )

    @main.command()
    @click.argument("names", nargs=-1)
    @click.option("--since", type=MOMENT, help="Re-send every event since this time (default: pending ones).")
    @click.pass_obj
    def notify(obj: Context, names: tuple[str, ...], since: str | None) -> None:
        """Send change events to the sources' notification URLs ([notify] urls and per-source notify)."""
        from crawler.monitor.deliver import deliver
        from storage.archive import Archive

        try:
            sources = select(load_sources(obj.sources), names)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if not any(s.notify for s in sources):
            raise click.ClickException("no notification URLs in the sources file ([notify] urls = [...])")
        obj.require()
        with Archive(obj.db) as archive:
            delivered, pending = deliver(archive, sources, since=since)
        click.echo(f"{delivered} events delivered, {pending} could not be delivered", err=True)
        sys.exit(1 if pending else 0)
