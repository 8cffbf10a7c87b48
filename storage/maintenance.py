"""Archive upkeep: a safe copy of a live archive (SQLite backup API) and integrity and consistency checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlite_utils import Database

# (name, SQL counting the rows that break the rule)
CONSISTENCY = (
    ("copies point to documents", "select count(*) from copies where document_id not in (select id from documents)"),
    ("copies point to pages", "select count(*) from copies where page_id not in (select id from pages)"),
    (
        "every document has a copy",
        "select count(*) from documents where id not in (select document_id from copies)",
    ),
    (
        "pages with text point to a document",
        "select count(*) from pages where content_hash is not null and document_id not in (select id from documents)",
    ),
    (
        "page hash matches its document",
        "select count(*) from pages p join documents d on d.id = p.document_id where p.content_hash != d.content_hash",
    ),
    (
        "revisions point to documents",
        "select count(*) from revisions where document_id not in (select id from documents)",
    ),
    ("FTS index in sync", "select abs((select count(*) from documents) - (select count(*) from documents_fts))"),
)


def backup(source: str | Path, target: str | Path) -> None:
    """Copy a (possibly live) archive to `target` with SQLite's online backup API."""
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file")
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def check(db: Database, fts: bool = True) -> list[dict[str, Any]]:
    """Run SQLite's integrity check, the FTS index's own check (it writes: only with `fts`) and the other rules."""
    results = []
    integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
    results.append({"check": "integrity_check", "ok": integrity == ["ok"], "detail": "; ".join(integrity[:5])})
    if not fts:
        detail = "skipped: the archive is read-only (FTS5's check needs write access)"
        results.append({"check": "FTS integrity-check", "ok": True, "skipped": True, "detail": detail})
    try:
        if fts:
            db.execute("insert into documents_fts(documents_fts, rank) values ('integrity-check', 1)")
            results.append({"check": "FTS integrity-check", "ok": True, "detail": ""})
    except sqlite3.DatabaseError as exc:
        results.append({"check": "FTS integrity-check", "ok": False, "detail": str(exc)})
    for name, sql in CONSISTENCY:
        bad = db.execute(sql).fetchone()[0]
        results.append({"check": name, "ok": bad == 0, "detail": f"{bad} rows" if bad else ""})
    return results
