"""readouts' Datasette plugin: a meeting page (every document side by side) and a page history with diffs.

Stored texts are only ever put into templates as values (Jinja autoescapes them) or built with markupsafe's
escaping, so a readout holding `<script>` is shown as text.
"""

from __future__ import annotations

import difflib
import itertools
from typing import Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.utils.asgi import Request, Response
from markupsafe import Markup, escape
from sqlite_utils import Database

from crawler.word_diff import line_runs
from storage.changes import history
from storage.meetings import meeting_with_texts

MEETING_PATH = "/-/readouts/meeting/"
HISTORY_PATH = "/-/readouts/history"


def meeting_link(meeting_id: Any) -> str:
    """The path of a meeting's page."""
    return f"{MEETING_PATH}{int(meeting_id)}"


def history_link(url: str) -> str:
    """The path of a page's history."""
    return f"{HISTORY_PATH}?url={quote(url, safe='')}"


def diff_lines(old: str, new: str) -> list[dict[str, Any]]:
    """Return a line diff of two texts as rows {kind, text, runs}: kind is 'same', 'added' or 'removed'; runs are
    the line's (text, changed) pieces, the changed words of a changed paragraph marked."""
    marked = [
        f"{line[0] if line[0] in '+-' else ' '}{line[2:]}"
        for line in difflib.ndiff(old.splitlines(), new.splitlines())
        if not line.startswith("? ")
    ]
    rows = []
    for line, runs in zip(marked, line_runs(marked), strict=True):
        kind = {"+": "added", "-": "removed"}.get(line[0], "same")
        pieces = runs[1:] if kind != "same" and len(runs) > 1 and runs[0][0] in "+-" else [(line[1:], False)]
        rows.append({"kind": kind, "text": line[1:], "runs": pieces})
    return rows


async def _read(datasette: Any, fn: Any) -> Any:
    """Run fn(sqlite_utils Database) on a read-only connection of the archive."""
    db = datasette.get_database()
    return await db.execute_fn(lambda conn: fn(Database(conn)))


async def meeting_page(datasette: Any, request: Request) -> Response:
    """A meeting with its documents side by side."""
    meeting_id = int(request.url_vars["id"])
    found = await _read(datasette, lambda db: meeting_with_texts(db, meeting_id))
    if found is None:
        return Response.html(f"No meeting {meeting_id} in this archive", status=404)
    for doc in found["documents"]:
        for copy in doc["copies"]:
            copy["history"] = history_link(copy["url"])
    context = {"meeting": found, "database": datasette.get_database().name}
    return Response.html(await datasette.render_template("readouts_meeting.html", context, request=request))


async def history_page(datasette: Any, request: Request) -> Response:
    """Every revision of a page, with what changed from one to the next."""
    url = request.args.get("url") or ""
    revisions = await _read(datasette, lambda db: history(db, url)) if url else []
    if not revisions:
        return Response.html(f"No revisions of {escape(url)} in this archive", status=404)
    changes = [
        {"old": old, "new": new, "lines": diff_lines(old["text"], new["text"])}
        for old, new in itertools.pairwise(revisions)
    ]
    context = {"url": url, "revisions": revisions, "changes": changes}
    return Response.html(await datasette.render_template("readouts_history.html", context, request=request))


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """The plugin's pages."""
    return [
        (MEETING_PATH.replace("/", r"\/") + r"(?P<id>\d+)$", meeting_page),
        (HISTORY_PATH.replace("/", r"\/") + "$", history_page),
    ]


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Markup | None:
    """Link meeting ids to their meeting page, page URLs to their history, browsing rows to their document."""
    if table == "readouts" and column == "id" and isinstance(value, int):
        return Markup('<a href="{}">{}</a>').format(datasette.urls.row(database, "documents", value), value)
    if column == "meeting_id" and isinstance(value, int):
        return Markup('<a href="{}">meeting {}</a>').format(meeting_link(value), value)
    if column == "url" and table in ("pages", "copies", "events") and isinstance(value, str):
        return Markup('<a href="{}">{}</a> (<a href="{}">history</a>)').format(value, value, history_link(value))
    return None
