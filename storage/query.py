"""Read-only queries over the archive: export, documents, search and the run history."""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

from storage import search_words
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
# FTS5's trigram tokenizer cannot match terms shorter than three characters; those go to the word index
_MIN_TRIGRAM = 3
# With a trigram index, SQLite's bm25 counts every match of every phrase in the whole archive, so a common word
# costs ~0.2 s at 100k documents. Plain searches instead rank the RANK_WINDOW most recently archived matches
# (all of them when fewer match) with a bm25-like score computed here; --raw keeps SQLite's bm25 over all matches.
RANK_WINDOW = 200
_SNIPPET_CHARS = 160


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
    """Yield one record per document with its copies (url, source, first_seen) and the pages whose text it was
    before an edit replaced it (`superseded`, same fields)."""
    sql = (
        "select id, content_hash, title, published, language, first_seen, length(text) as chars, story_id, meeting_id "
        "from documents"
    )
    args: list[Any] = []
    if source:
        sql += " where id in (select document_id from copies where source = ?)"
        args.append(source)
    for doc in db.query(sql + " order by coalesce(published, first_seen), id", args):
        rows = list(
            db.query(
                "select url, source, first_seen, current from copies where document_id = ? order by first_seen, id",
                [doc["id"]],
            )
        )
        copies = [{k: r[k] for k in ("url", "source", "first_seen")} for r in rows if r["current"]]
        superseded = [{k: r[k] for k in ("url", "source", "first_seen")} for r in rows if not r["current"]]
        yield {"document_id": doc.pop("id"), **doc, "copies": copies, "superseded": superseded}


def occurrences(text: str, term: str) -> int:
    """Return how often the term occurs in the text, ignoring case.

    Casefolding a text costs ~10 ns a character (~11 ms for the RANK_WINDOW candidates), so only a term whose case
    is not ASCII pays for it: an ASCII term is counted in the text's bytes with ASCII letters lowered, a term
    without case (Chinese) in the text as it is.
    """
    if term.isascii():
        return text.encode().lower().count(term.lower().encode())
    if term == term.casefold() == term.upper():
        return text.count(term)
    return text.casefold().count(term.casefold())


def _ranked(rows: list[dict[str, Any]], terms: list[str], limit: int) -> list[dict[str, Any]]:
    """Return the `limit` best candidates by a bm25-like score of the terms (title counts thrice), with snippets."""
    texts = [(row["title"] or "") * 3 + "\n" + row["text"] for row in rows]
    counts = [[occurrences(text, term) for term in terms] for text in texts]
    mean_length = sum(len(t) for t in texts) / max(len(texts), 1)
    weights = [math.log(1 + (len(texts) + 1) / (1 + sum(c[i] > 0 for c in counts))) for i in range(len(terms))]
    for row, text, found in zip(rows, texts, counts, strict=True):
        norm = 1.2 * (0.25 + 0.75 * len(text) / max(mean_length, 1))
        score = sum(w * n * 2.2 / (n + norm) for n, w in zip(found, weights, strict=True))
        row["rank"] = -score  # as SQLite's bm25: lower is better
    best = sorted(rows, key=lambda row: row["rank"])[:limit]
    folded = [t.casefold() for t in terms]
    for row in best:
        row["snippet"] = _snippet(row.pop("text"), folded)
    return best


def _snippet(text: str, terms: list[str]) -> str:
    """Return the passage where most of the terms occur together, each term in it marked [like this]."""
    folded = text.casefold()
    hits = sorted((m.start(), t) for t in terms for m in re.finditer(re.escape(t), folded[:200_000]))
    best, found = 0, 0
    for i, (at, _) in enumerate(hits[:500]):
        near = itertools.takewhile(lambda hit: hit[0] < at + _SNIPPET_CHARS * 2 // 3, hits[i:])  # noqa: B023
        together = len({t for _, t in near})
        if together > best:
            best, found = together, at
    start = max(0, found - _SNIPPET_CHARS // 3)
    passage = text[start : start + _SNIPPET_CHARS]
    if len(folded) != len(text):  # casefolding changed lengths (ß -> ss): mark nothing rather than the wrong span
        return passage
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    marked = pattern.sub(lambda m: f"[{m.group(0)}]", passage)
    return ("…" if start else "") + marked + ("…" if start + _SNIPPET_CHARS < len(text) else "")


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
    # a Chinese term of up to four characters is a token of the word index: one lookup, not a trigram phrase
    short = [t for t in terms if not raw and (len(t) < _MIN_TRIGRAM or search_words.is_gram(t))]
    long = [t for t in terms if t not in short]
    # the word index holds every word and every Chinese n-gram of one to four characters
    words = " AND ".join(search_words.match_term(t) for t in short)
    if short and long:
        filters.append("d.rowid in (select rowid from documents_words where documents_words match ?)")
        args.append(words)
    where = " and ".join(filters) or "1"
    if not raw:  # the newest RANK_WINDOW matches of one index, ranked below
        index = "documents_fts" if long else "documents_words"
        sql = f"""
            select d.id as document_id, d.title, d.published, d.language, d.content_hash, d.text
            from {index} join documents d on d.rowid = {index}.rowid
            where {index} match ? and {where}
            order by {index}.rowid desc limit ?
        """
        first = " ".join(db.quote_fts(t) for t in long) if long else words
        params: list[Any] = [first, *args, RANK_WINDOW]
    else:
        sql = f"""
            select d.id as document_id, d.title, d.published, d.language, d.content_hash,
                   snippet(documents_fts, 1, '[', ']', '…', 64) as snippet, documents_fts.rank as rank
            from documents_fts join documents d on d.rowid = documents_fts.rowid
            where documents_fts match ? and {where}
            order by documents_fts.rank limit ?
        """
        params = [query, *args, limit]
    try:
        rows = list(db.query(sql, params))
    except sqlite3.OperationalError as exc:
        hint = " (--raw takes SQLite FTS5 syntax: balanced quotes and brackets, OR/AND/NOT between words)"
        hint = hint if raw else ""
        raise SearchError(f"not a valid search query {query!r}: {exc}{hint}") from None
    if not raw:
        rows = _ranked(rows, terms, limit)
    for row in rows:
        row["copies"] = list(
            db.query(
                "select url, source from copies where document_id = ? and current = 1 order by id", [row["document_id"]]
            )
        )
    return rows


def source_names(db: Database) -> list[str]:
    """Return the names of the sources that have pages in the archive, sorted."""
    return [row[0] for row in db.execute("select distinct source from pages order by source")]


def runs(db: Database, limit: int | None = None) -> list[dict[str, Any]]:
    """Return the crawl history, newest first."""
    sql = "select * from runs order by id desc" + (" limit ?" if limit else "")
    out = []
    for row in db.query(sql, [limit] if limit else []):
        row["run_id"] = row.pop("id")
        row["sources"] = json.loads(row["sources"])
        row["error_samples"] = json.loads(row["error_samples"] or "[]")
        row["stopped"] = json.loads(row["stopped"] or "{}")  # an object, as in `crawl --json`
        row["bounded"] = json.loads(row["bounded"] or "{}")  # sources a bound cut short, as in `crawl --json`
        out.append({**{k: row[k] for k in RUN_FIELDS}, **row})
    return out
