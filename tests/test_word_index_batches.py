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
    assert os.path.exists(db)
