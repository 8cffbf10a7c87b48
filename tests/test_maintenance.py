"""`readouts backup` copies a live archive safely; `readouts check` finds broken archives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.archive import Archive, ArticleText, PageRecord


def archive_with_pages(db: Path, n: int = 3) -> None:
    archive = Archive(db)
    for i in range(n):
        art = ArticleText(content_hash=f"h{i}", text=f"readout text {i} 习近平 Путин", title=f"t{i}")
        archive.record(PageRecord(url=f"http://127.0.0.2/a/{i}", source="s", host="127.0.0.2", status=200, article=art))
    archive.close()


def test_backup_of_a_live_archive_is_complete_and_checks_ok(tmp_path: Path, readouts) -> None:
    db = tmp_path / "archive.db"
    archive_with_pages(db)
    writer = sqlite3.connect(db)  # a writer holding an open transaction, as during a crawl
    writer.execute("begin immediate")
    writer.execute("insert into site_pages (host, pages) values ('x', 1)")
    copy = tmp_path / "copy.db"
    result = readouts("backup", str(copy))
    writer.rollback()
    writer.close()
    assert result.code == 0, result.err
    assert readouts("check", db=copy).code == 0
    assert len(readouts("export", db=copy).jsonl()) == 3
    assert readouts("search", "Путин", db=copy, timeout=60).code == 0
    assert readouts("backup", str(copy)).code == 1  # never overwrites


def test_check_reports_inconsistencies(tmp_path: Path, readouts) -> None:
    db = tmp_path / "archive.db"
    archive_with_pages(db)
    good = readouts("check", "--json")
    assert good.code == 0 and all(r["ok"] for r in good.jsonl())
    with sqlite3.connect(db) as conn:
        conn.execute("pragma foreign_keys = off")
        conn.execute("delete from copies where page_id = 1")
        conn.execute("update pages set content_hash = 'other' where id = 2")
    bad = readouts("check", "--json")
    assert bad.code == 1
    failed = {r["check"] for r in bad.jsonl() if not r["ok"]}
    assert failed == {"every document has a copy", "page hash matches its document"}
