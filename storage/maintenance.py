"""Archive upkeep: a safe copy of a live archive (SQLite backup API, then its captures) and integrity and consistency
checks, the captures' bytes included."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage import search_words
from storage.warc import WarcStore, body_sha256, copy_store, payload_digest, store_for

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


@dataclass(frozen=True)
class BackupReport:
    """What a backup copied: the database, and the WARC files of its captures (none with captures=False)."""

    database: str
    captures: str | None
    warc_files: int
    warc_bytes: int


@dataclass(frozen=True)
class CaptureProblem:
    """A revision whose capture cannot be read back as it was stored."""

    url: str
    revision: int
    file: str
    offset: int
    reason: str


def backup(source: str | Path, target: str | Path, captures: bool = True) -> BackupReport:
    """Copy a (possibly live) archive to `target` with SQLite's online backup API, then its WARC captures beside it.

    The database is copied first: every capture it points to was written (and synced) before its row was committed,
    so the WARC files copied afterwards hold them all; a record being written meanwhile waits for the file's copy.
    """
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file")
    stores = (store_for(source), store_for(target))
    if captures and stores[1].directory.exists():
        raise FileExistsError(f"{stores[1].directory} exists; choose a new file")
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()
    if not captures:
        return BackupReport(str(target), None, 0, 0)
    files, size = copy_store(*stores)
    return BackupReport(str(target), str(stores[1].directory), files, size)


def check(db: Database, store: WarcStore | None = None, fts: bool = True) -> list[dict[str, Any]]:
    """Run SQLite's integrity check, the FTS index's own check (it writes: only with `fts`), the consistency rules
    and, given the archive's WARC store, that every revision's capture is there with the bytes its digests name."""
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
    queued = search_words.pending(db.conn)
    detail = (
        f"{queued} documents queued for the search indexes (word and trigram): a crawl indexes them every"
        " few pages and at its end; opening the archive with readouts indexes what other tools or a crash left"
    )
    results.append({"check": "word index up to date", "ok": not queued, "detail": detail if queued else ""})
    for name, sql in CONSISTENCY:
        bad = db.execute(sql).fetchone()[0]
        results.append({"check": name, "ok": bad == 0, "detail": f"{bad} rows" if bad else ""})
    if store is not None:
        problems = check_captures(db, store)
        detail = f"{len(problems)} revisions: " + "; ".join(p.reason for p in problems[:3]) if problems else ""
        results.append(
            {
                "check": "captures present and intact",
                "ok": not problems,
                "detail": detail,
                "problems": [asdict(p) for p in problems],
            }
        )
    return results


def check_captures(db: Database, store: WarcStore) -> list[CaptureProblem]:
    """Return the revisions whose capture's WARC record is missing, unreadable, or no longer matches its digests."""
    sql = """
        select p.url, r.number, c.id, c.url, c.warc_file, c.warc_offset, c.revisit_of,
               o.id, o.url, o.warc_file, o.warc_offset, coalesce(o.body_sha256, c.body_sha256),
               coalesce(o.payload_digest, c.payload_digest)
        from revisions r join pages p on p.id = r.page_id join captures c on c.id = r.capture_id
        left join captures o on o.id = c.revisit_of
        order by c.warc_file, c.warc_offset
    """
    seen: dict[tuple[str, int], str | None] = {}  # each record is read once, however many revisions share it

    def problem(file: str, offset: int, url: str, sums: tuple[str, str | None] | None) -> str | None:
        if (file, offset) not in seen:
            seen[(file, offset)] = _record_problem(store, file, offset, url, sums)
        return seen[(file, offset)]

    problems = []
    for row in db.execute(sql).fetchall():
        url, number, _, curl, cfile, coffset, revisit_of, oid, ourl, ofile, ooffset, sha256, digest = row
        where, reason = (cfile, coffset), None
        if revisit_of is not None:  # the revisit record, then the response record holding its body
            reason = problem(cfile, coffset, curl, None)
            if reason is None and oid is None:
                reason = "the response record this revisit points to is not in the archive"
            elif reason is None:
                where, reason = (ofile, ooffset), problem(ofile, ooffset, ourl, (sha256, digest))
        else:
            reason = problem(cfile, coffset, curl, (sha256, digest))
        if reason:
            problems.append(CaptureProblem(url, int(number), where[0], int(where[1]), reason))
    return problems


def _record_problem(
    store: WarcStore, file: str, offset: int, url: str, sums: tuple[str, str | None] | None
) -> str | None:
    """Return why the record at file:offset is not `url`'s capture with this (SHA-256, payload digest), or None."""
    try:
        captured = store.read(file, offset)
    except FileNotFoundError:
        return f"WARC file missing: {file}"
    except OSError as exc:
        return f"unreadable WARC file {file}: {exc}"
    except ValueError as exc:
        return str(exc)
    if captured.url != url:
        return f"the record at {file}:{offset} is of another URL ({captured.url})"
    if sums is None:  # a revisit record: its body is checked at its original
        return None
    sha256, digest = sums
    if captured.digest and payload_digest(captured.payload) != captured.digest:
        return f"the bytes at {file}:{offset} no longer match their payload digest"
    if digest and captured.digest != digest:
        return f"the record at {file}:{offset} carries another payload digest than the archive's"
    if body_sha256(captured.body) != sha256:
        return f"the body at {file}:{offset} no longer matches its SHA-256"
    return None
