"""A crawl's word index is filled in batches: queued with each page's commit, indexed every N pages and at close,
and a crash before a batch is indexed loses nothing (the next writer indexes the queue)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from crawler.extraction.fingerprint import content_hash
from storage import search_words
from storage.archive import Archive, ArticleText, PageRecord

WORD = "普京"  # a short Chinese term: only the word index finds it


def page(n: int) -> PageRecord:
    """Readout n, whose text carries the short term."""
    text = f"习近平同{WORD}举行会谈 number {n} on strategic partnership."
    art = ArticleText(content_hash(text), text, title=f"Readout {n}")
    return PageRecord(url=f"http://127.0.0.2/{n}", source="s", host="127.0.0.2", status=200, article=art)


def found(archive: Archive) -> int:
    """How many documents the word index finds for the short term."""
    match = search_words.match_term(WORD)
    sql = "select count(*) from documents_words where documents_words match ?"
    return archive.db.execute(sql, [match]).fetchone()[0]


def test_the_word_index_follows_every_n_pages_and_at_close(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db", word_index_every=3)
    for n in range(2):
        archive.record(page(n))
    assert (found(archive), search_words.pending(archive.db.conn)) == (0, 2)  # committed, queued, not yet indexed
    archive.record(page(2))
    assert (found(archive), search_words.pending(archive.db.conn)) == (3, 0)
    archive.record(page(3))
    archive.close()
    with Archive(tmp_path / "a.db", readonly=True) as reader:
        assert (found(reader), search_words.pending(reader.db.conn)) == (4, 0)


def test_page_by_page_by_default(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    archive.record(page(0))
    assert (found(archive), search_words.pending(archive.db.conn)) == (1, 0)


def test_a_crash_before_the_batch_is_indexed_loses_no_page(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    code = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[2]); "
        "from tests.test_word_index_batches import page; from storage.archive import Archive; "
        "a = Archive(sys.argv[1], word_index_every=50); [a.record(page(n)) for n in range(5)]; "
        "print('recorded', flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "-c", code, str(db), root], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL and proc.stdout.strip() == "recorded", proc.stderr
    with Archive(db, readonly=True) as reader:  # every recorded page is in, queued for the word index
        assert reader.db.execute("select count(*) from pages").fetchone()[0] == 5
        assert search_words.pending(reader.db.conn) == 5
    with Archive(db) as writer:  # the next writer indexes what the crash left queued
        assert (found(writer), search_words.pending(writer.db.conn)) == (5, 0)
        assert trigram_found(writer) == 5
    assert os.path.exists(db)


LONG = "strategic partnership"  # a long term: readouts search and serve look it up in the trigram index


def trigram_found(archive: Archive, term: str = LONG) -> int:
    """How many documents the trigram index finds for a term."""
    sql = "select count(*) from documents_fts where documents_fts match ?"
    return archive.db.execute(sql, [archive.db.quote_fts(term)]).fetchone()[0]


def fts_checks(archive: Archive) -> None:
    """Raise unless the trigram index holds exactly the current title and text of every document (checked against
    `documents`), and the word index is consistent in itself (it holds tokens, not the text)."""
    archive.db.execute("insert into documents_fts (documents_fts, rank) values ('integrity-check', 1)")
    archive.db.execute("insert into documents_words (documents_words, rank) values ('integrity-check', 0)")


def test_the_trigram_index_follows_in_the_same_batches(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db", word_index_every=3)
    for n in range(2):
        archive.record(page(n))
    assert trigram_found(archive) == 0  # committed and queued: no trigram segment per page
    archive.record(page(2))
    assert trigram_found(archive) == 3
    archive.record(page(3))
    archive.close()
    with Archive(tmp_path / "a.db") as writer:
        assert (trigram_found(writer), found(writer)) == (4, 4)
        fts_checks(writer)


def test_page_by_page_the_trigram_index_follows_each_page(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        archive.record(page(0))
        assert (trigram_found(archive), search_words.pending(archive.db.conn)) == (1, 0)
        archive.db.execute("update documents set text = 'edited readout'")
        archive.db.execute("insert into documents (content_hash, title, text, first_seen) values ('x', 't', 'x', 'x')")
        archive.db.execute("delete from documents where content_hash = 'x'")
        assert (trigram_found(archive), trigram_found(archive, "edited readout")) == (0, 1)
        fts_checks(archive)


def test_edits_and_deletes_while_queued_leave_both_indexes_exact(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db", word_index_every=50)
    for n in range(4):
        archive.record(page(n))
    insert = "insert into documents (content_hash, title, text, first_seen) values ('x', 'x', ?, 'x')"
    archive.db.execute(insert, [f"to be deleted: {LONG}"])
    archive.index_words()
    archive.db.execute("update documents set text = 'edited once' where title = 'Readout 0'")
    archive.db.execute("update documents set text = 'edited twice' where title = 'Readout 0'")
    archive.db.execute("delete from documents where content_hash = 'x'")
    archive.record(page(4))  # takes the deleted document's rowid: one queued row, holding what the indexes hold
    archive.db.execute("update documents set text = 'fresh edit' where title = 'Readout 4'")
    assert search_words.pending(archive.db.conn) == 2
    archive.close()
    with Archive(tmp_path / "a.db") as writer:
        assert search_words.pending(writer.db.conn) == 0
        fts_checks(writer)
        assert [trigram_found(writer, t) for t in (LONG, "edited once", "edited twice", "fresh edit")] == [3, 0, 1, 1]


def test_an_archive_from_before_the_trigram_queue_keeps_both_indexes_exact(tmp_path: Path) -> None:
    import sqlite3

    from storage import schema

    db = tmp_path / "a.db"
    with Archive(db) as archive:  # as it was before migration 0027: trigram triggers, word index queued
        archive.record(page(0))
        archive.db.execute("delete from _sqlite_migrations where name = '0027_trigram_index_in_batches'")
        for statement in schema._TRIGRAM_TRIGGERS.split("end;"):
            if statement.strip():
                archive.db.execute(statement + "end;")
    conn = sqlite3.connect(db)  # another tool edits: the trigram trigger indexes it, the word index queues it
    with conn:
        conn.execute("update documents set text = 'another tool wrote this'")
    conn.close()
    with Archive(db) as writer:
        fts_checks(writer)
        assert (trigram_found(writer), trigram_found(writer, "another tool wrote")) == (0, 1)
        triggers = {r[0] for r in writer.db.execute("select name from sqlite_master where type = 'trigger'")}
        assert not triggers & {"documents_ai", "documents_ad", "documents_au"}


def test_a_batch_looks_up_only_the_queued_documents(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db", word_index_every=50) as archive:
        for n in range(3):
            archive.record(page(n))
        for sql in search_words._WORDS_BATCH + search_words._TRIGRAM_BATCH:
            plan = [row[3] for row in archive.db.execute("explain query plan " + sql)]
            assert not any(step.split()[:2] == ["SCAN", "d"] for step in plan), plan
