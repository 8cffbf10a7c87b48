"""readouts' Datasette plugin: a meeting page (documents side by side), a page history with diffs, search routing,
and table rows written in Python.

Stored texts are only ever put into templates as values (Jinja autoescapes them) or built with markupsafe's
escaping, so a readout holding `<script>` is shown as text.
"""

from __future__ import annotations

import difflib
import itertools
import re
import sqlite3
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from datasette import hookimpl
from datasette.utils import escape_fts
from datasette.utils.asgi import Request, Response
from markupsafe import Markup
from sqlite_utils import Database

from crawler.compare.meeting import alignment_of, compare_meeting, side_by_side
from crawler.monitor.word_diff import line_runs
from crawler.web.rows import rows_html
from storage.changes import history
from storage.meetings import meeting_with_texts
from storage.search_words import count_matches, has_long_run, match_term

# the tables whose search runs on the word index (documents_words), as Datasette pages or their JSON
_WORD_SEARCH_PATH = re.compile(r"^/[^/]+/(readouts|documents)(\.json)?$")
# the archive's views, which Datasette pages by an integer offset (`_next=zzz` raises a ValueError in it: a 500)
_VIEW_PATH = re.compile(r"^/[^/]+/readouts(\.json)?$")
# the search page of the readouts view (its JSON keeps Datasette's own count)
_VIEW_PAGE = re.compile(r"^/[^/]+/readouts$")
# a search with only these arguments matches exactly what the word index matches: it can be counted there
_COUNTABLE_ARGS = frozenset(
    {"_search", "_searchmode", "_sort", "_sort_desc", "_size", "_next", "_nofacet", "_nosuggest"}
    | {"_facet", "_facet_array", "_facet_date", "_facet_size"}
)
# set in a request's scope when its page's count is to be taken on the word index (word_index_count)
WORD_COUNT = "readouts.word_count"

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


def row_id(text: str) -> int | None:
    """Return the id a path gives when it is a row id SQLite can hold, else None."""
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number < 2**63 else None


def not_found(message: str) -> Response:
    """A 404 page with a message (escaped)."""
    return Response.html(
        str(Markup("<!DOCTYPE html><title>Not found</title><h1>Not found</h1><p>{}</p>").format(message)), status=404
    )


async def meeting_page(datasette: Any, request: Request) -> Response:
    """A meeting with its documents side by side."""
    meeting_id = row_id(request.url_vars["id"])
    if meeting_id is None:
        return not_found(
            f"{request.url_vars['id']!r} is not a meeting id: meetings are numbered, as /-/readouts/meeting/1"
        )
    found = await _read(datasette, lambda db: meeting_with_texts(db, meeting_id))
    if found is None:
        return not_found(f"No meeting {meeting_id} in this archive")
    for doc in found["documents"]:
        for copy in doc["copies"]:
            copy["history"] = history_link(copy["url"])
    context = {"meeting": found, "database": datasette.get_database().name, "comparison": comparison_rows(found)}
    return Response.html(await datasette.render_template("readouts_meeting.html", context, request=request))


def comparison_rows(meeting: dict[str, Any]) -> dict[str, Any]:
    """Return the meeting's readouts compared, as rows for the page: each pair side by side, each row linked."""
    record = compare_meeting(meeting)
    docs = {d["document_id"]: d for d in record["documents"]}
    pairs = []
    for pair in record["pairs"]:
        a, b = docs[pair["a"]], docs[pair["b"]]
        rows = [
            {
                "a": a["statements"][i] if i is not None else None,
                "b": b["statements"][j] if j is not None else None,
                "score": score,
                "a_id": f"s-{a['document_id']}-{i}-{b['document_id']}" if i is not None else None,
                "b_id": f"s-{b['document_id']}-{j}-{a['document_id']}" if j is not None else None,
            }
            for i, j, score in side_by_side(alignment_of(record, a["document_id"], b["document_id"]))
        ]
        pairs.append({"a": a, "b": b, "rows": rows})
    return {"pairs": pairs, "note": record["note"], "only_entities": record["entities"]["only"]}


async def history_page(datasette: Any, request: Request) -> Response:
    """Every revision of a page, with what changed from one to the next."""
    url = request.args.get("url") or ""
    revisions = await _read(datasette, lambda db: history(db, url)) if url else []
    if not url:
        return not_found("Give the page's address: /-/readouts/history?url=URL")
    if not revisions:
        return not_found(f"No revisions of {url} in this archive")
    changes = [
        {"old": old, "new": new, "lines": diff_lines(old["text"], new["text"])}
        for old, new in itertools.pairwise(revisions)
    ]
    context = {"url": url, "revisions": revisions, "changes": changes}
    return Response.html(await datasette.render_template("readouts_history.html", context, request=request))


def word_search_args(query_string: bytes) -> bytes:
    """Rewrite a search for a Chinese term longer than the word index's n-grams into the index's own query.

    Datasette quotes each word of `_search` as one FTS5 string, which finds Chinese terms of up to MAX_GRAM
    characters in the word index; a longer one becomes search_words.match_term()'s query, in raw search mode.
    """
    args = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    values = dict(args)
    search = values.get("_search", "")
    if values.get("_searchmode") == "raw" or not has_long_run(search):
        return query_string
    rewritten = " AND ".join(match_term(term) for term in search.split())
    kept = [(k, v) for k, v in args if k not in ("_search", "_searchmode")]
    return urlencode([*kept, ("_search", rewritten), ("_searchmode", "raw")]).encode("ascii")


def search_facets_off(query_string: bytes) -> bytes:
    """Add `_nofacet=1` to a search that asks for no facet: each facet is a query over every match (issue 16)."""
    values = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    if not values.get("_search", "").strip() or any(key.startswith(("_facet", "_nofacet")) for key in values):
        return query_string
    return query_string + (b"&" if query_string else b"") + b"_nofacet=1"


def search_newest_first(query_string: bytes) -> bytes:
    """Sort a search that names no order by id, newest archived first (issue 16).

    Rows then come in the word index's own order, so only one page of them is read; sorting by a column (the
    view's default, `published`) reads every match with its text first: about 8 ms for 2,000 matches at 100k.
    """
    values = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    if not values.get("_search", "").strip() or any(key.startswith("_sort") for key in values):
        return query_string
    return query_string + (b"&" if query_string else b"") + b"_sort_desc=id"


def count_on_word_index(query_string: bytes) -> bytes:
    """Add `_nocount=1` to a search that filters nothing else, whose count word_index_count() then takes (issue 16).

    Datasette counts a search by looking up every match's row (about 5 ms per 2,000 matches at 100,000 documents);
    the word index counts its own matches in a tenth of that.
    """
    args = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if not dict(args).get("_search", "").strip() or not {key for key, _ in args} <= _COUNTABLE_ARGS:
        return query_string
    return query_string + b"&_nocount=1"


def offset_ok(query_string: bytes) -> bool:
    """Return True unless the query pages a view with a `_next` that is not a whole number."""
    values = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return "_next" not in values or row_id(values["_next"]) is not None


@hookimpl
def asgi_wrapper() -> Any:
    """Route the search box: long Chinese terms to the word index, no facet unasked, newest first, counted on the
    word index; bad offsets out."""

    def wrap(app: Any) -> Any:
        async def searched(scope: dict[str, Any], receive: Any, send: Any) -> None:
            path = scope.get("path", "") if scope.get("type") == "http" else ""
            if _VIEW_PATH.match(path) and not offset_ok(scope.get("query_string", b"")):
                await Response.text("_next must be a whole number on this page", status=400).asgi_send(send)
                return
            if _WORD_SEARCH_PATH.match(path):
                query_string = search_newest_first(search_facets_off(scope.get("query_string", b"")))
                counted = count_on_word_index(query_string) if _VIEW_PAGE.match(path) else query_string
                scope = {**scope, "query_string": word_search_args(counted), WORD_COUNT: counted != query_string}
            await app(scope, receive, send)

        return searched

    return wrap


async def word_index_count(datasette: Any, database: str, request: Request) -> dict[str, Any]:
    """The page's count of matches, taken on the word index (a search count_on_word_index() marked)."""
    search = request.args.get("_search", "")
    match = search if request.args.get("_searchmode") == "raw" else escape_fts(search)
    try:
        count = await datasette.get_database(database).execute_fn(lambda conn: count_matches(conn, match))
    except sqlite3.OperationalError:  # a broken raw query: Datasette's own page says why
        return {}
    return {"filtered_table_rows_count": count}


@hookimpl
def extra_template_vars(database: str | None, table: str | None, request: Request | None, datasette: Any) -> Any:
    """Give a readouts search page its count of matches from the word index, when the search was marked for it."""
    if request is None or database is None or table != "readouts" or not request.scope.get(WORD_COUNT):
        return {}
    return word_index_count(datasette, database, request)


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    """Give the templates the rows writer that templates/_table.html uses for every table page."""
    env.filters["readouts_rows"] = rows_html


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """The plugin's pages."""
    return [
        (MEETING_PATH.replace("/", r"\/") + r"(?P<id>[^/]*)$", meeting_page),
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
