"""The archive: one SQLite file, written one page per transaction. Knows nothing of crawling."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from storage.clock import utcnow
from storage.schema import migrations

BUSY_TIMEOUT_MS = 30_000
WRITE_RETRIES = 8


@dataclass(frozen=True)
class ArticleText:
    """The extracted article of a page, as the archive stores it."""

    content_hash: str
    text: str
    title: str | None = None
    published: str | None = None
    language: str | None = None
    author: str | None = None
    sitename: str | None = None


@dataclass(frozen=True)
class PageRecord:
    """One fetched article page: where it came from, how the server answered, and what was extracted."""

    url: str
    source: str
    host: str
    status: int
    article: ArticleText | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    fetched_at: str = field(default_factory=utcnow)


# outcomes of Archive.record()
NEW_DOCUMENT, DUPLICATE, UNCHANGED, CHANGED, FAILED = "new_document", "duplicate", "unchanged", "changed", "failed"


class Archive:
    """Read and write access to one archive file."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        """Open (and for writers create and migrate) the archive at `path`."""
        self.path = str(path)
        if readonly:
            if not Path(self.path).exists():
                raise FileNotFoundError(f"no archive at {self.path}: run `readouts crawl` first")
            conn = sqlite3.connect(f"file:{Path(self.path).resolve()}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db = Database(conn)
        if not readonly:
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            with self._write():
                migrations.apply(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[Database]:
        """Run a block in one BEGIN IMMEDIATE transaction, retrying with backoff while another writer holds the lock."""
        for attempt in range(WRITE_RETRIES):
            try:
                self.db.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == WRITE_RETRIES - 1:
                    raise
                time.sleep(min(5.0, 0.1 * 2**attempt) * (1 + random.random()))
        try:
            yield self.db
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        else:
            self.db.conn.execute("COMMIT")

    # --- pages and documents -------------------------------------------------------------------------------

    def known_urls(self, source: str | None = None) -> set[str]:
        """Return the URLs of pages already archived with text (optionally of one source)."""
        sql = "select url from pages where content_hash is not null"
        args: list[Any] = []
        if source:
            sql += " and source = ?"
            args.append(source)
        return {row[0] for row in self.db.execute(sql, args)}

    def record(self, page: PageRecord) -> tuple[str, bool]:
        """Store one fetched page (and its document and copy) in one transaction.

        Returns the outcome (NEW_DOCUMENT, DUPLICATE, UNCHANGED, CHANGED or FAILED) and whether the page is new.
        """
        with self._write() as db:
            created = db.execute("select 1 from pages where url = ?", [page.url]).fetchone() is None
            return self._record(db, page), created

    def _record(self, db: Database, page: PageRecord) -> str:
        """Store one page inside an open transaction and return the outcome."""
        now = page.fetched_at
        row = db.execute("select id, content_hash from pages where url = ?", [page.url]).fetchone()
        fields: dict[str, Any] = {
            "source": page.source,
            "host": page.host,
            "status": page.status,
            "last_checked": now,
            "etag": page.etag,
            "last_modified": page.last_modified,
            "content_type": page.content_type,
        }
        art = page.article
        if art is None:
            fields["error"] = page.error or "no text"
            if row is None:
                db.table("pages").insert({"url": page.url, "first_seen": now, **fields})
            else:
                db.table("pages").update(row[0], fields)
            return FAILED
        document_id, created = self._document(db, art, now)
        fields.update(
            content_hash=art.content_hash,
            document_id=document_id,
            title=art.title,
            published=art.published,
            author=art.author,
            sitename=art.sitename,
            language=art.language,
            error=None,
        )
        if row is None:
            page_id = db.table("pages").insert({"url": page.url, "first_seen": now, **fields}).last_pk
            outcome = NEW_DOCUMENT if created else DUPLICATE
        else:
            page_id = row[0]
            db.table("pages").update(page_id, fields)
            if row[1] == art.content_hash:
                outcome = UNCHANGED
            elif row[1] is None:
                outcome = NEW_DOCUMENT if created else DUPLICATE
            else:
                outcome = CHANGED
        db.execute(
            "insert or ignore into copies (document_id, page_id, url, source, first_seen) values (?, ?, ?, ?, ?)",
            [document_id, page_id, page.url, page.source, now],
        )
        return outcome

    def _document(self, db: Database, art: ArticleText, now: str) -> tuple[int, bool]:
        """Return the id of the document with this content hash, creating it if new, and whether it was created."""
        found = db.execute("select id from documents where content_hash = ?", [art.content_hash]).fetchone()
        if found:
            return int(found[0]), False
        last_pk = (
            db.table("documents")
            .insert(
                {
                    "content_hash": art.content_hash,
                    "title": art.title,
                    "published": art.published,
                    "language": art.language,
                    "text": art.text,
                    "first_seen": now,
                }
            )
            .last_pk
        )
        return int(last_pk or 0), True

    # --- per-site template lines ---------------------------------------------------------------------------

    def site_line_counts(self, host: str) -> tuple[dict[str, int], int]:
        """Return the per-line page counts of a host and how many pages they were counted over."""
        counts = {k: n for k, n in self.db.execute("select line_key, pages from site_lines where host = ?", [host])}
        total = self.db.execute("select pages from site_pages where host = ?", [host]).fetchone()
        return counts, int(total[0]) if total else 0

    def add_site_lines(self, host: str, pages: list[set[str]]) -> None:
        """Count the line keys of newly seen pages of a host (each page's keys once)."""
        if not pages:
            return
        with self._write() as db:
            tally: dict[str, int] = {}
            for keys in pages:
                for key in keys:
                    tally[key] = tally.get(key, 0) + 1
            db.conn.executemany(
                "insert into site_lines (host, line_key, pages) values (?, ?, ?) "
                "on conflict (host, line_key) do update set pages = pages + excluded.pages",
                [(host, k, n) for k, n in tally.items()],
            )
            db.execute(
                "insert into site_pages (host, pages) values (?, ?) "
                "on conflict (host) do update set pages = pages + excluded.pages",
                [host, len(pages)],
            )

    # --- runs ----------------------------------------------------------------------------------------------

    def start_run(self, sources: list[str], trigger: str, pid: int | None = None) -> int:
        """Record the start of a crawl and return its run id."""
        with self._write() as db:
            return int(
                db.table("runs")
                .insert(
                    {
                        "sources": json.dumps(sources),
                        "trigger": trigger,
                        "started": utcnow(),
                        "status": "running",
                        "pid": pid,
                        "pages_fetched": 0,
                        "new_pages": 0,
                        "new_documents": 0,
                        "duplicates": 0,
                        "failed": 0,
                        "errors": 0,
                        "error_samples": "[]",
                    }
                )
                .last_pk
                or 0
            )

    def reap_dead_runs(self) -> int:
        """Mark runs left "running" by a process that no longer exists (killed crawls) as failed."""
        stale = []
        for run_id, pid in self.db.execute("select id, pid from runs where status = 'running'").fetchall():
            if pid is None or not _alive(int(pid)):
                stale.append(run_id)
        with self._write() as db:
            for run_id in stale:
                db.table("runs").update(run_id, {"status": "failed", "finished": utcnow()})
        return len(stale)

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, int], error_samples: list[dict]) -> None:
        """Record the end of a crawl with its status, counts and a sample of its errors."""
        with self._write() as db:
            db.table("runs").update(
                run_id,
                {"finished": utcnow(), "status": status, "error_samples": json.dumps(error_samples[:50]), **counts},
            )

    def integrity_ok(self) -> bool:
        """Return True when SQLite's integrity check passes."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _alive(pid: int) -> bool:
    """Return True when a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
