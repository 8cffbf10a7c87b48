"""The word index's tokens: text rewritten so SQLite's standard unicode61 tokenizer finds short Chinese terms.

unicode61 keeps a run of Chinese characters as one token (a whole clause), and the trigram index cannot match terms
of one or two characters. So the text stored in `documents_words` spells each run of Han or kana characters as
every substring of one to MAX_GRAM characters, separated by spaces: a plain query "普京" (one token to unicode61)
then equals an indexed token, in sqlite-utils, Datasette or readouts alike. Cyrillic words also get their prefixes
(3 characters and up), so "Путин" finds "Путина" and "Путиным" without stemming. Latin words are left as they are.
"""

from __future__ import annotations

import re
import sqlite3

# Chinese words and names are one to four characters; longer queries on the word index need spaces between words
MAX_GRAM = 4
MIN_PREFIX = 3
TOKENIZE = "unicode61 remove_diacritics 2"
SQL_FUNCTION = "readouts_words"
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
_CYRILLIC_WORD = re.compile(f"[\u0400-\u04ff]{{{MIN_PREFIX + 1},}}")


def _grams(run: str) -> str:
    """Return every substring of a CJK run of 1..MAX_GRAM characters, space separated, in reading order."""
    return " ".join(run[i : i + n] for i in range(len(run)) for n in range(1, MAX_GRAM + 1) if i + n <= len(run))


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
