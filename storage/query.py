"""Read-only queries over the archive: export, documents, search and the run history."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

from storage.errors import SearchError

EXPORT_FIELDS = (
    "url",
    "source",
    "title",
    "published",
    "language",
    "text",
    "content_hash",
    "document_id",
    "first_seen",
    "last_checked",
    "story_id",
    "meeting_id",
)
RUN_FIELDS = (
    "run_id",
    "sources",
    "trigger",
    "started",
    "finished",
    "status",
    "pages_fetched",
    "new_documents",
    "failed",
    "errors",
)
# FTS5's trigram tokenizer cannot match terms shorter than three characters; those fall back to LIKE
_MIN_TRIGRAM = 3


def export_pages(db: Database, source: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one record per archived article page (pages with text), oldest first."""
    sql = """
        select p.url, p.source, coalesce(p.title, d.title) as title, coalesce(p.published, d.published) as published,
               coalesce(p.language, d.language) as language, d.text, p.content_hash, p.document_id,
               p.first_seen, p.last_checked, d.story_id, d.meeting_id
        from pages p join documents d on d.id = p.document_id
        where p.content_hash is not null {where}
        order by p.id
    """
    args: list[Any] = []
    where = ""
    if source:
        where, args = "and p.source = ?", [source]
    yield from db.query(sql.format(where=where), args)


def documents(db: Database, source: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield one record per document with its copies (url, source, first_seen)."""
    sql = (
        "select id, content_hash, title, published, language, first_seen, length(text) as chars, story_id, meeting_id "
        "from documents"
    )
    args: list[Any] = []
    if source:
        sql += " where id in (select document_id from copies where source = ?)"
        args.append(source)
    for doc in db.query(sql + " order by coalesce(published, first_seen), id", args):
        copies = list(
            db.query(
                "select url, source, first_seen from copies where document_id = ? and current = 1 "
                "order by first_seen, id",
                [doc["id"]],
            )
        )
        yield {"document_id": doc.pop("id"), **doc, "copies": copies}


def _terms(query: str) -> list[str]:
    """Split a plain search query into terms, keeping "quoted phrases" together."""
    terms = [a or b.replace('"', "") for a, b in re.findall(r'"([^"]+)"|(\S+)', query)]  # a stray quote is no syntax
    return [t for t in terms if t.strip()]


def search(
    db: Database,
    query: str,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
    raw: bool = False,
) -> list[dict[str, Any]]:
    """Return documents matching every term of the query, best first, each with a snippet and its copies."""
    terms = [query] if raw else _terms(query)
    if not terms:
        raise SearchError("empty search query")
    filters, args = [], []
    if source:
        filters.append("d.id in (select document_id from copies where source = ?)")
        args.append(source)
    if since:
        filters.append("d.published >= ?")
        args.append(since)
    if until:
        filters.append("d.published <= ?")
        args.append(until)
    short = [t for t in terms if len(t) < _MIN_TRIGRAM and not raw]
    long = [t for t in terms if t not in short]
    for term in short:
        filters.append("(d.title like ? escape '\\' or d.text like ? escape '\\')")
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        args += [pattern, pattern]
    where = " and ".join(filters) or "1"
    if long:
        match = query if raw else " ".join(db.quote_fts(t) for t in long)
        sql = f"""
            select d.id as document_id, d.title, d.published, d.language, d.content_hash,
                   snippet(documents_fts, 1, '[', ']', '…', 64) as snippet, documents_fts.rank as rank
            from documents_fts join documents d on d.rowid = documents_fts.rowid
            where documents_fts match ? and {where}
            order by documents_fts.rank limit ?
        """
        params: list[Any] = [match, *args, limit]
    else:
        sql = f"""
            select d.id as document_id, d.title, d.published, d.language, d.content_hash,
                   substr(d.text, max(1, instr(d.text, ?) - 60), 160) as snippet, 0.0 as rank
            from documents d where {where} order by d.published desc, d.id limit ?
        """
        params = [short[0], *args, limit]
    try:
        rows = list(db.query(sql, params))
    except sqlite3.OperationalError as exc:
        hint = " (--raw takes SQLite FTS5 syntax: balanced quotes and brackets, OR/AND/NOT between words)"
        hint = hint if raw else ""
        raise SearchError(f"not a valid search query {query!r}: {exc}{hint}") from None
    for row in rows:
        row["copies"] = list(
            db.query(
                "select url, source from copies where document_id = ? and current = 1 order by id", [row["document_id"]]
            )
        )
    return rows


def runs(db: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """Return the crawl history, newest first."""
    sql = "select * from runs order by id desc" + (" limit ?" if limit else "")
    out = []
    for row in db.query(sql, [limit] if limit else []):
        row["run_id"] = row.pop("id")
        row["sources"] = json.loads(row["sources"])
        row["error_samples"] = json.loads(row["error_samples"] or "[]")
        out.append({**{k: row[k] for k in RUN_FIELDS}, **row})
    return out
