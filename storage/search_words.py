"""The word index's tokens: text rewritten so SQLite's standard unicode61 tokenizer finds short Chinese terms.

unicode61 keeps a run of Chinese characters as one token (a whole clause), and the trigram index cannot match terms
of one or two characters. So the text stored in `documents_words` spells each run of Han or kana characters as
every substring of one to MAX_GRAM characters, separated by spaces: a plain query "普京" (one token to unicode61)
then equals an indexed token, in sqlite-utils, Datasette or readouts alike. Cyrillic words also get their prefixes
(3 characters and up), so "Путин" finds "Путина" and "Путиным" without stemming. Latin words are left as they are.
"""

from __future__ import annotations

import operator
import re
import sqlite3
from itertools import chain

# Chinese words and names are one to four characters; longer queries on the word index need spaces between words
MAX_GRAM = 4
MIN_PREFIX = 3
TOKENIZE = "unicode61 remove_diacritics 2"
SQL_FUNCTION = "readouts_words"
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
_CYRILLIC_WORD = re.compile(f"[\u0400-\u04ff]{{{MIN_PREFIX + 1},}}")


def _grams(run: str) -> str:
    """Return every substring of a CJK run of 1..MAX_GRAM characters, space separated, in reading order."""
    if len(run) < MAX_GRAM:
        return " ".join(run[i : i + n] for i in range(len(run)) for n in range(1, MAX_GRAM + 1) if i + n <= len(run))
    # the same, built a gram length at a time (about half the CPU: a long Chinese text holds thousands of grams)
    two = list(map(operator.add, run, run[1:]))
    three = list(map(operator.add, two, run[2:]))
    four = map(operator.add, three, run[3:])
    head = " ".join(chain.from_iterable(zip(run, two, three, four, strict=False)))
    return f"{head} {run[-3]} {two[-2]} {three[-1]} {run[-2]} {two[-1]} {run[-1]}"


def _prefixes(word: str) -> str:
    """Return a Cyrillic word's prefixes of MIN_PREFIX characters and up, then the word."""
    return " ".join(word[:n] for n in range(MIN_PREFIX, len(word) + 1))


def index_words(text: str | None) -> str | None:
    """Return the text as the word index stores it: CJK runs as n-grams, Cyrillic words with their prefixes."""
    if text is None:
        return None
    text = _CYRILLIC_WORD.sub(lambda m: _prefixes(m.group(0)), text)
    return _CJK.sub(lambda m: f" {_grams(m.group(0))} ", text)


def has_long_run(text: str) -> bool:
    """Return True when the text holds a CJK run longer than the index's n-grams (a plain query cannot match it)."""
    return any(len(run) > MAX_GRAM for run in _CJK.findall(text))


def is_gram(term: str) -> bool:
    """Return True when the term is one of the index's CJK n-grams: found there exactly where it occurs in the text."""
    return _CJK.fullmatch(term) is not None and len(term) <= MAX_GRAM


def _quoted(text: str) -> str:
    """Return text as an FTS5 string."""
    return '"' + text.replace('"', '""') + '"'


def match_term(term: str) -> str:
    """Return the FTS5 query matching one search term on the word index.

    A CJK run longer than MAX_GRAM becomes its covering MAX_GRAM-grams, all near each other (NEAR counts tokens,
    and the index holds MAX_GRAM tokens per character).
    """
    parts = []
    for piece in re.split(f"({_CJK.pattern})", term):
        if not piece.strip():
            continue
        if not _CJK.fullmatch(piece) or len(piece) <= MAX_GRAM:
            parts.append(_quoted(piece))
            continue
        starts = sorted({*range(0, len(piece) - MAX_GRAM + 1, MAX_GRAM), len(piece) - MAX_GRAM})
        grams = " ".join(_quoted(piece[i : i + MAX_GRAM]) for i in starts)
        parts.append(f"NEAR({grams}, {MAX_GRAM * len(piece)})")
    return " AND ".join(parts)


def register(conn: sqlite3.Connection) -> None:
    """Make the tokens available to SQL (the word index's triggers call it) on this connection."""
    conn.create_function(SQL_FUNCTION, 1, index_words, deterministic=True)


PENDING_TABLE = "documents_words_pending"
# Persistent triggers use built-in SQL only, so any tool may write documents: each written row is queued, with the
# values the search indexes hold for it (the first old values, while queued), until a readouts connection indexes
# it in both the word and the trigram index (since migration 0027; the name is older).
PERSISTENT_TRIGGERS = f"""
create trigger documents_words_ai after insert on documents begin
  insert or ignore into {PENDING_TABLE} (rowid, indexed) values (new.rowid, 0);
end;
create trigger documents_words_ad after delete on documents begin
  insert or ignore into {PENDING_TABLE} (rowid, indexed, title, text) values (old.rowid, 1, old.title, old.text);
end;
create trigger documents_words_au after update of title, text on documents begin
  insert or ignore into {PENDING_TABLE} (rowid, indexed, title, text) values (old.rowid, 1, old.title, old.text);
end;
"""
# A readouts connection indexing page by page indexes each queued row at once, in both indexes (the word index with
# the Python tokens, which other tools lack)
_APPLY_TRIGGER = f"""
create temp trigger if not exists documents_words_apply after insert on main.{PENDING_TABLE} begin
  insert into documents_words (documents_words, rowid, title, text)
    select 'delete', new.rowid, {SQL_FUNCTION}(new.title), {SQL_FUNCTION}(new.text) where new.indexed;
  insert into documents_fts (documents_fts, rowid, title, text)
    select 'delete', new.rowid, new.title, new.text where new.indexed;
  insert into documents_words (rowid, title, text)
    select rowid, {SQL_FUNCTION}(title), {SQL_FUNCTION}(text) from documents where rowid = new.rowid;
  insert into documents_fts (rowid, title, text) select rowid, title, text from documents where rowid = new.rowid;
  delete from {PENDING_TABLE} where rowid = new.rowid;
end;
"""
# What a batch does to each index: take out the values it holds for queued rows, add their current values in rowid
# order (appended to one new segment), then empty the queue. `cross join` keeps the queue the outer loop: SQLite
# otherwise may scan every document (seen at 100,000: ~5 ms a document, more than the batch saves)
_WORDS_BATCH = (
    f"""insert into documents_words (documents_words, rowid, title, text)
        select 'delete', rowid, {SQL_FUNCTION}(title), {SQL_FUNCTION}(text) from {PENDING_TABLE} where indexed""",
    f"""insert into documents_words (rowid, title, text)
        select d.rowid, {SQL_FUNCTION}(d.title), {SQL_FUNCTION}(d.text)
        from {PENDING_TABLE} p cross join documents d on d.rowid = p.rowid order by p.rowid""",
)
_TRIGRAM_BATCH = (
    f"""insert into documents_fts (documents_fts, rowid, title, text)
        select 'delete', rowid, title, text from {PENDING_TABLE} where indexed""",
    f"""insert into documents_fts (rowid, title, text)
        select d.rowid, d.title, d.text
        from {PENDING_TABLE} p cross join documents d on d.rowid = p.rowid order by p.rowid""",
)


def has_queue(conn: sqlite3.Connection) -> bool:
    """Return True when the archive has the word index's queue (migration 0017 has run)."""
    return conn.execute("select 1 from sqlite_master where name = ?", [PENDING_TABLE]).fetchone() is not None


def attach_indexer(conn: sqlite3.Connection) -> None:
    """Index this connection's writes of documents as they happen (a temp trigger, private to the connection)."""
    if has_queue(conn):
        conn.execute(_APPLY_TRIGGER)


def pending(conn: sqlite3.Connection) -> int:
    """Return how many written documents the search indexes have not caught up with (queued)."""
    return conn.execute(f"select count(*) from {PENDING_TABLE}").fetchone()[0] if has_queue(conn) else 0


def catch_up(conn: sqlite3.Connection, trigram: bool = True) -> int:
    """Index the queued documents in the word index and (unless `trigram` is False) the trigram index; return how
    many. Call inside a transaction."""
    if not has_queue(conn):
        return 0
    queued = int(conn.execute(f"select count(*) from {PENDING_TABLE}").fetchone()[0])
    if queued:
        for sql in _WORDS_BATCH + (_TRIGRAM_BATCH if trigram else ()):
            conn.execute(sql)
        conn.execute(f"delete from {PENDING_TABLE}")
    return queued


def count_matches(conn: sqlite3.Connection, match: str) -> int:
    """Return how many documents an FTS5 query matches in the word index, counted on the index alone.

    Equal to counting the matching rows of `documents` (what Datasette does, looking up every row: about 5 ms per
    2,000 matches at 100,000 documents) except for documents another tool deleted while the index still holds
    them (queued): those are taken off.
    """
    found = "select rowid from documents_words where documents_words match :match"
    sql = f"select count(*) from ({found})"
    if has_queue(conn):
        sql = (
            f"select ({sql}) - (select count(*) from {PENDING_TABLE} p where p.indexed"
            f" and p.rowid not in (select id from documents) and p.rowid in ({found}))"
        )
    return int(conn.execute(sql, {"match": match}).fetchone()[0])
