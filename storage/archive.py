"""The archive: one SQLite file, written one page per transaction. Knows nothing of crawling."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from crawler.model import ArticleText
from storage import search_words
from storage.clock import utcnow
from storage.diff import unified_diff
from storage.meetings import meeting_for, record_announcement
from storage.placement import EARLIER, SAME, Known, place
from storage.recheck import DEFAULT_RECHECK_EVERY, next_check
from storage.rows import insert_row, update_row
from storage.schema import migrations, restore_search_triggers
from storage.stories import index_bands, story_of
from storage.warc import CaptureRef

BUSY_TIMEOUT_MS = 30_000
# a crawl indexes the word index once every this many pages: one FTS segment per batch, not one per page (~1 ms/page)
CRAWL_WORD_INDEX_EVERY = 50
LIVE = "live"  # the origin of a page fetched from its site (others: a WARC file, a web archive)
WRITE_RETRIES = 8
# a writer copies its WAL into the file every this many pages (SQLite's default: 1000): a page written again before
# then is copied once, ~0.2-0.4 ms of CPU a recorded page less at 10,000 documents; the WAL grows to ~40 MB
WAL_CHECKPOINT_PAGES = 10_000


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
    capture: CaptureRef | None = None  # the WARC record of the response body
    recheck_every: float = DEFAULT_RECHECK_EVERY
    origin: str = LIVE  # where the capture came from: live, or the WARC file or web archive it was read from
    origin_url: str | None = None  # the WARC record or memento it was read from (None for a live fetch)


@dataclass(frozen=True)
class SiteLineCounts:
    """How many counted pages of a host carry each line (by key), over how many pages; and how many are articles."""

    seen: dict[str, int]
    pages: int
    in_articles: dict[str, int]


@dataclass(frozen=True)
class DueCheck:
    """A known page to re-check, with the validators for a conditional request."""

    url: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class FrontierEntry:
    """A URL a crawl cut by its bound did not fetch: a listing page to walk on from, or an article."""

    url: str
    kind: str  # "listing" or "article"


# outcomes of Archive.record() and the re-check methods
NEW_DOCUMENT, DUPLICATE, UNCHANGED, CHANGED, FAILED = "new_document", "duplicate", "unchanged", "changed", "failed"
GONE, MOVED = "gone", "moved"
EVENT_KINDS = ("new", "changed", "gone", "back", "moved")
_ZERO_COUNTS = {k: 0 for k in ("pages_fetched", "new_pages", "new_documents", "duplicates", "failed", "errors")}


def require(path: str | Path) -> None:
    """Raise FileNotFoundError, with what to do, when there is no archive at `path`."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no archive at {path}: run `readouts crawl` first")


class Archive:
    """Read and write access to one archive file (a context manager that closes it)."""

    def __init__(self, path: str | Path, readonly: bool = False, word_index_every: int = 1) -> None:
        """Open (and for writers create and migrate) the archive at `path`.

        `word_index_every`: index the search indexes (word and trigram) once every that many recorded pages (and at
        close) rather than inside each page's transaction; queued documents are committed with their page, so a
        crash loses none.
        """
        self.path = str(path)
        self.word_index_every, self._unindexed = word_index_every, 0
        if readonly:
            require(self.path)
            conn = sqlite3.connect(f"file:{Path(self.path).resolve()}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        search_words.register(conn)  # the word index's tokens, computed in Python
        self.db = Database(conn)
        if not readonly:
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            self.db.execute("PRAGMA foreign_keys = ON")
            with self._write():
                migrations.apply(self.db)
                restore_search_triggers(self.db)  # a tool that rebuilt `documents` dropped them
                search_words.catch_up(conn)  # documents other tools (or a crash before a batch was indexed) left
            if word_index_every <= 1:
                search_words.attach_indexer(conn)

    def close(self) -> None:
        """Index the documents still queued for the search indexes, and close the connection."""
        if self._unindexed:
            self.index_words()
        self.db.close()

    def index_words(self) -> int:
        """Index the documents queued for the word and trigram indexes in one transaction; return how many."""
        self._unindexed = 0
        with self._write() as db:
            return search_words.catch_up(db.conn)

    def _counted(self) -> None:
        """Count a recorded page towards the next batch of the search indexes (when they are indexed in batches)."""
        if self.word_index_every > 1:
            self._unindexed += 1
            if self._unindexed >= self.word_index_every:
                self.index_words()

    def __enter__(self) -> Archive:
        """Use the archive in a `with` block, which closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the connection at the end of the `with` block."""
        self.close()

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

    def due_pages(self, source: str, now: str | None = None, every: bool = False) -> list[DueCheck]:
        """Return the known pages of a source due for a re-check at `now` (all of them with `every`)."""
        sql = "select url, etag, last_modified from pages where source = ? and content_hash is not null"
        args: list[Any] = [source]
        if not every:
            sql += " and next_check <= ?"
            args.append(now or utcnow())
        return [DueCheck(*row) for row in self.db.execute(sql + " order by next_check", args)]

    def frontier(self, source: str) -> list[FrontierEntry]:
        """Return where the source's last crawl cut by its bound stopped (empty when it ran to its end)."""
        sql = "select url, kind from frontier where source = ? order by rowid"
        return [FrontierEntry(*row) for row in self.db.execute(sql, [source])]

    def keep_frontier(self, source: str, entries: Sequence[FrontierEntry]) -> None:
        """Replace the source's frontier with what this crawl left unfetched."""
        with self._write() as db:
            db.execute("delete from frontier where source = ?", [source])
            db.table("frontier").insert_all(
                ({"source": source, "url": e.url, "kind": e.kind} for e in entries), ignore=True
            )

    def original_capture(self, digest: str) -> tuple[str, str] | None:
        """Return (url, fetched_at) of the stored response record whose payload has this WARC digest, if any."""
        row = self.db.execute(
            "select url, fetched_at from captures where payload_digest = ? and revisit_of is null order by id limit 1",
            [digest],
        ).fetchone()
        return (row[0], row[1]) if row else None

    def record(self, page: PageRecord) -> tuple[str, bool]:
        """Store one fetched page (its document, copy, revision, capture and events) in one transaction.

        Returns the outcome (NEW_DOCUMENT, DUPLICATE, UNCHANGED, CHANGED or FAILED) and whether the page is new.
        """
        with self._write() as db:
            created = db.execute("select 1 from pages where url = ?", [page.url]).fetchone() is None
            if page.origin != LIVE and page.origin_url:
                self._imported(db, page.origin_url, page.url)
            outcome = self._record(db, page)
        self._counted()
        return outcome, created

    def mark_imported(self, record: str, url: str) -> None:
        """Remember a WARC record or memento read and not archived (no text), so it is not read again."""
        with self._write() as db:
            self._imported(db, record, url)

    def imported(self) -> set[str]:
        """Return the WARC records and mementos already read."""
        return {row[0] for row in self.db.execute("select record from imported")}

    def _imported(self, db: Database, record: str, url: str) -> None:
        """Note a record or memento as read."""
        db.execute("insert or ignore into imported (record, url, at) values (?, ?, ?)", [record, url, utcnow()])

    def cdx_cursor(self, query: str) -> int:
        """Return the next page to read of a paged CDX query an earlier backfill left unfinished (0: from the start)."""
        row = self.db.execute(
            "select next_page from cdx_cursors where query = ? and resume_key is null", [query]
        ).fetchone()
        return int(row[0]) if row else 0

    def cdx_resume_key(self, query: str) -> tuple[str, int] | None:
        """Return the resume key a CDX query read by `showResumeKey` goes on from, and the answers read before it
        (None: from the start)."""
        row = self.db.execute(
            "select resume_key, next_page from cdx_cursors where query = ? and resume_key is not null", [query]
        ).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def set_cdx_resume_key(self, query: str, answers: int, key: str | None) -> None:
        """Note the resume key a CDX query goes on from after `answers` answers; without one it is finished: forget
        it."""
        with self._write() as db:
            if key is None:
                db.execute("delete from cdx_cursors where query = ?", [query])
            else:
                db.execute(
                    "insert or replace into cdx_cursors (query, next_page, pages, at, resume_key) "
                    "values (?, ?, 0, ?, ?)",
                    [query, answers, utcnow(), key],
                )

    def set_cdx_cursor(self, query: str, next_page: int, pages: int) -> None:
        """Note that a paged CDX query was read up to `next_page`; at its last page, forget it (it is finished)."""
        with self._write() as db:
            if next_page >= pages:
                db.execute("delete from cdx_cursors where query = ?", [query])
            else:
                db.execute(
                    "insert or replace into cdx_cursors (query, next_page, pages, at) values (?, ?, ?, ?)",
                    [query, next_page, pages, utcnow()],
                )

    def _record(self, db: Database, page: PageRecord) -> str:
        """Store one page inside an open transaction and return the outcome."""
        now = page.fetched_at
        row = db.execute(
            "select id, content_hash, state, changed_at, revision, document_id, status from pages where url = ?",
            [page.url],
        ).fetchone()
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
                page_id = insert_row(db, "pages", {"url": page.url, "first_seen": now, **fields})
            else:
                page_id = row[0]
                update_row(db, "pages", page_id, fields)
            self._capture(db, page, int(page_id or 0))
            return FAILED
        if page.origin != LIVE and row is not None and row[1] is not None:
            return self._record_past(db, page, art, int(row[0]))
        capture_id = None
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
            state=LIVE,
            moved_to=None,
        )
        if page.origin != LIVE and row is not None and row[6] in (404, 410):
            # a readout the live site no longer has, recovered from a capture: it stays marked gone
            fields.update(state=GONE, status=row[6])
            del fields["last_checked"]
        had_text = row is not None and row[1] is not None
        changed = had_text and row[1] != art.content_hash
        base = now if not had_text or changed else (row[3] or now)
        fields.update(changed_at=base, next_check=next_check(base, now, page.recheck_every))
        if row is None:
            page_id = insert_row(db, "pages", {"url": page.url, "first_seen": now, **fields})
        else:
            page_id = int(row[0])
            update_row(db, "pages", page_id, fields)
        capture_id = self._capture(db, page, page_id)
        if had_text and row[2] in (GONE, MOVED):
            self._event(db, "back", page_id, page, art.title, revision=row[4], content_hash=art.content_hash)
        if not had_text:
            outcome = NEW_DOCUMENT if created else DUPLICATE
            number = self._revision(db, page_id, 1, page, art, document_id, capture_id)
            self._event(db, "new", page_id, page, art.title, revision=number, content_hash=art.content_hash)
        elif changed:
            outcome = CHANGED
            number = self._revision(db, page_id, int(row[4] or 0) + 1, page, art, document_id, capture_id)
            old_text = db.execute("select text from documents where id = ?", [row[5]]).fetchone()
            diff = unified_diff(old_text[0] if old_text else "", art.text, number - 1, number)
            db.execute("update copies set current = 0 where page_id = ? and document_id != ?", [page_id, document_id])
            self._event(
                db,
                "changed",
                page_id,
                page,
                art.title,
                revision=number,
                previous_hash=row[1],
                content_hash=art.content_hash,
                diff=diff,
            )
        else:
            outcome = UNCHANGED
        db.execute(
            "insert into copies (document_id, page_id, url, source, first_seen, current) values (?, ?, ?, ?, ?, 1) "
            "on conflict (document_id, page_id) do update set current = 1",
            [document_id, page_id, page.url, page.source, now],
        )
        return outcome

    def _revision(
        self,
        db: Database,
        page_id: int,
        number: int,
        page: PageRecord,
        art: ArticleText,
        document_id: int,
        capture_id: int | None,
    ) -> int:
        """Add revision `number` of a page and make it the page's newest; return the number."""
        ref = page.capture
        insert_row(
            db,
            "revisions",
            {
                "page_id": page_id,
                "number": number,
                "fetched_at": page.fetched_at,
                "content_hash": art.content_hash,
                "document_id": document_id,
                "title": art.title,
                "body_sha256": ref.sha256 if ref else None,
                "warc_file": ref.file if ref else None,
                "warc_offset": ref.offset if ref else None,
                "warc_length": ref.length if ref else None,
                "capture_id": capture_id,
                "origin": page.origin,
                "origin_url": page.origin_url,
                "captured_at": page.fetched_at,
            },
        )
        update_row(db, "pages", page_id, {"revision": number})
        return number

    def _record_past(self, db: Database, page: PageRecord, art: ArticleText, page_id: int) -> str:
        """Store a capture read from a WARC file or web archive among a known page's revisions, by its capture time.

        An older text becomes an earlier revision (later ones move up) and a change found in retrospect; a page the
        live site has gone stays gone.
        """
        known = [
            Known(int(n), t, h)
            for n, t, h in db.execute(
                "select number, coalesce(captured_at, fetched_at), content_hash from revisions "
                "where page_id = ? order by number",
                [page_id],
            )
        ]
        spot = place(known, page.fetched_at, art.content_hash)
        db.execute("update pages set first_seen = min(first_seen, ?) where id = ?", [page.fetched_at, page_id])
        if spot.kind == SAME:
            self._capture(db, page, page_id)
            return UNCHANGED
        document_id, _created = self._document(db, art, page.fetched_at)
        newest = spot.following is None
        db.execute(
            "insert into copies (document_id, page_id, url, source, first_seen, current) values (?, ?, ?, ?, ?, ?) "
            "on conflict (document_id, page_id) do update set first_seen = min(first_seen, excluded.first_seen)",
            [document_id, page_id, page.url, page.source, page.fetched_at, int(newest)],
        )
        if spot.kind == EARLIER:  # the text was there already: its revision dates from this capture
            db.execute(
                "update revisions set captured_at = ?, origin = ?, origin_url = ? where page_id = ? and number = ?",
                [page.fetched_at, page.origin, page.origin_url, page_id, spot.number],
            )
            return UNCHANGED
        capture_id = self._capture(db, page, page_id)
        # make room: later revisions (and the events that name them) move up by one, through negatives (unique index)
        db.execute(
            "update revisions set number = -number - 1 where page_id = ? and number >= ?", [page_id, spot.number]
        )
        db.execute("update revisions set number = -number where page_id = ? and number < 0", [page_id])
        db.execute(
            "update events set revision = revision + 1 where page_id = ? and revision >= ?", [page_id, spot.number]
        )
        current = db.execute("select revision from pages where id = ?", [page_id]).fetchone()[0]
        self._revision(db, page_id, spot.number, page, art, document_id, capture_id)
        if newest:
            db.execute("update copies set current = 0 where page_id = ? and document_id != ?", [page_id, document_id])
            update_row(
                db,
                "pages",
                page_id,
                {"content_hash": art.content_hash, "document_id": document_id, "title": art.title},
            )
        else:
            update_row(db, "pages", page_id, {"revision": int(current or 0) + 1})
        for old, new, number in (
            (spot.previous, art.content_hash, spot.number),
            (art.content_hash, spot.following, spot.number + 1),
        ):
            old_hash = old.content_hash if isinstance(old, Known) else old
            new_hash = new.content_hash if isinstance(new, Known) else new
            if old_hash is not None and new_hash is not None:
                self._change_found(db, page_id, page, art.title, number, old_hash, new_hash)
        return CHANGED

    def _change_found(
        self, db: Database, page_id: int, page: PageRecord, title: str | None, number: int, old: str, new: str
    ) -> None:
        """Record a change between two revisions found in retrospect (from captures, never notified)."""
        texts = dict(db.execute("select content_hash, text from documents where content_hash in (?, ?)", [old, new]))
        diff = unified_diff(texts.get(old, ""), texts.get(new, ""), number - 1, number)
        self._event(
            db, "changed", page_id, page, title, revision=number, previous_hash=old, content_hash=new, diff=diff
        )

    def _capture(self, db: Database, page: PageRecord, page_id: int) -> int | None:
        """Index the page's WARC record, if it has one, and return its capture id."""
        ref = page.capture
        if ref is None:
            return None
        original = None
        if ref.revisit:  # the record written as a revisit points to the first response record of the same payload
            original = db.execute(
                "select id from captures where payload_digest = ? and revisit_of is null order by id limit 1",
                [ref.digest],
            ).fetchone()
        return insert_row(
            db,
            "captures",
            {
                "page_id": page_id,
                "url": page.url,
                "fetched_at": page.fetched_at,
                "status": page.status,
                "body_sha256": ref.sha256,
                "payload_digest": ref.digest or None,
                "warc_file": ref.file,
                "warc_offset": ref.offset,
                "warc_length": ref.length,
                "revisit_of": original[0] if original else None,
            },
        )

    def _event(
        self,
        db: Database,
        kind: str,
        page_id: int,
        page: PageRecord,
        title: str | None,
        revision: int | None = None,
        previous_hash: str | None = None,
        content_hash: str | None = None,
        diff: str | None = None,
        target: str | None = None,
    ) -> None:
        """Record one change event."""
        insert_row(
            db,
            "events",
            {
                "at": page.fetched_at,
                "kind": kind,
                "page_id": page_id,
                "url": page.url,
                "source": page.source,
                "title": title,
                "revision": revision,
                "previous_hash": previous_hash,
                "content_hash": content_hash,
                "diff": diff,
                "target": target,
                "retrospective": int(page.origin != LIVE),
            },
        )

    def _known_page(self, db: Database, url: str) -> tuple[int, str | None, str | None, int | None, str | None]:
        """Return id, state, title, revision and content hash of a known page, or raise KeyError."""
        row = db.execute("select id, state, title, revision, content_hash from pages where url = ?", [url]).fetchone()
        if row is None:
            raise KeyError(url)
        return row[0], row[1], row[2], row[3], row[4]

    def _after_check(self, db: Database, page_id: int, page: PageRecord, **fields: Any) -> None:
        """Update a re-checked page's status, check time and next due time."""
        base = db.execute("select coalesce(changed_at, first_seen) from pages where id = ?", [page_id]).fetchone()[0]
        update_row(
            db,
            "pages",
            page_id,
            {
                "status": page.status,
                "last_checked": page.fetched_at,
                "next_check": next_check(base, page.fetched_at, page.recheck_every),
                **fields,
            },
        )

    def record_not_modified(self, page: PageRecord) -> str:
        """Record a 304 answer to a conditional re-check: unchanged, nothing downloaded."""
        with self._write() as db:
            page_id, state, title, revision, content_hash = self._known_page(db, page.url)
            self._after_check(db, page_id, page, status=200 if page.status == 304 else page.status, state="live")
            if state in (GONE, MOVED):
                self._event(db, "back", page_id, page, title, revision=revision, content_hash=content_hash)
            return UNCHANGED

    def record_gone(self, page: PageRecord) -> str:
        """Record that a known page answered 404/410 or a soft 404 (its revisions are kept)."""
        with self._write() as db:
            page_id, state, title, revision, content_hash = self._known_page(db, page.url)
            self._after_check(db, page_id, page, state=GONE, error=page.error)
            self._capture(db, page, page_id)
            if state == GONE:
                return UNCHANGED
            self._event(db, "gone", page_id, page, title, revision=revision, previous_hash=content_hash)
            return GONE

    def record_moved(self, page: PageRecord, target: str) -> str:
        """Record that a known page now redirects to `target`."""
        with self._write() as db:
            page_id, state, title, revision, content_hash = self._known_page(db, page.url)
            moved_to = db.execute("select moved_to from pages where id = ?", [page_id]).fetchone()[0]
            self._after_check(db, page_id, page, state=MOVED, moved_to=target)
            if state == MOVED and moved_to == target:
                return UNCHANGED
            self._event(db, "moved", page_id, page, title, revision=revision, content_hash=content_hash, target=target)
            return MOVED

    def reextracted(self, page_id: int, art: ArticleText) -> bool:
        """Replace the text of a page's newest revision with a better extraction of the same capture.

        The page did not change, so no event is added; its revision, document and copy now hold the new text.
        Returns True when the text differed.
        """
        with self._write() as db:
            row = db.execute("select content_hash, revision, url, source from pages where id = ?", [page_id]).fetchone()
            if row is None or row[0] == art.content_hash:
                return False
            document_id, _ = self._document(db, art, utcnow())
            update_row(
                db, "pages", page_id, {"content_hash": art.content_hash, "document_id": document_id, "title": art.title}
            )
            db.execute(
                "update revisions set content_hash = ?, document_id = ?, title = ? where page_id = ? and number = ?",
                [art.content_hash, document_id, art.title, page_id, row[1]],
            )
            db.execute(
                "update events set content_hash = ? where page_id = ? and revision = ? and content_hash = ?",
                [art.content_hash, page_id, row[1], row[0]],
            )
            db.execute("update copies set current = 0 where page_id = ? and document_id != ?", [page_id, document_id])
            db.execute(
                "insert into copies (document_id, page_id, url, source, first_seen, current) values (?, ?, ?, ?, ?, 1) "
                "on conflict (document_id, page_id) do update set current = 1",
                [document_id, page_id, row[2], row[3], utcnow()],
            )
            return True

    def recleaned(self, page_id: int, art: ArticleText) -> bool:
        """Give a page's newest revision the text of its capture cleaned of a template learned since it was archived.

        Not an edit by the publisher: no event is added. The page's copy moves to the document of the clean text
        (its story and meeting found as for any new document), and the old document goes when nothing else holds it.
        Returns True when the text differed.
        """
        with self._write() as db:
            row = db.execute(
                "select content_hash, revision, url, source, document_id, first_seen from pages where id = ?",
                [page_id],
            ).fetchone()
            if row is None or row[0] == art.content_hash:
                return False
            old_hash, revision, url, source, old_doc, first_seen = row
            copy = db.execute(
                "select first_seen from copies where page_id = ? and document_id = ?", [page_id, old_doc]
            ).fetchone()
            db.execute("delete from copies where page_id = ? and document_id = ?", [page_id, old_doc])
            orphan = not db.execute(
                "select 1 from copies where document_id = ? union all "
                "select 1 from revisions where document_id = ? and not (page_id = ? and number = ?)",
                [old_doc, old_doc, page_id, revision],
            ).fetchone()
            if orphan:  # dropped from the near-duplicate index first, so the clean text is not its own near-twin
                db.execute("delete from lsh_bands where document_id = ?", [old_doc])
            document_id, _ = self._document(db, art, utcnow())
            update_row(
                db, "pages", page_id, {"content_hash": art.content_hash, "document_id": document_id, "title": art.title}
            )
            db.execute(
                "update revisions set content_hash = ?, document_id = ?, title = ? where page_id = ? and number = ?",
                [art.content_hash, document_id, art.title, page_id, revision],
            )
            db.execute(
                "update events set content_hash = ? where page_id = ? and revision = ? and content_hash = ?",
                [art.content_hash, page_id, revision, old_hash],
            )
            db.execute(
                "insert into copies (document_id, page_id, url, source, first_seen, current) values (?, ?, ?, ?, ?, 1) "
                "on conflict (document_id, page_id) do update set current = 1",
                [document_id, page_id, url, source, copy[0] if copy else first_seen],
            )
            if orphan:
                meeting = db.execute("select meeting_id from documents where id = ?", [old_doc]).fetchone()
                db.execute("delete from documents where id = ?", [old_doc])
                db.execute("delete from announcements where document_id = ?", [old_doc])
                if meeting and meeting[0] is not None:
                    db.execute(
                        "delete from meetings where id = ? and not exists "
                        "(select 1 from documents where meeting_id = ?)",
                        [meeting[0], meeting[0]],
                    )
            return True

    def _document(self, db: Database, art: ArticleText, now: str) -> tuple[int, bool]:
        """Return the id of the document with this content hash, creating it if new, and whether it was created.

        A new document's row is written once, its story and meeting found first: an update would rewrite the text.
        """
        found = db.execute("select id from documents where content_hash = ?", [art.content_hash]).fetchone()
        if found:
            return int(found[0]), False
        # the id SQLite would give it (we hold the write lock), known beforehand: a new story is its own id
        document_id = int(db.execute("select coalesce(max(id), 0) + 1 from documents").fetchone()[0])
        story = story_of(db, art.signature, art.bands) if art.signature is not None else None
        meeting = art.meeting
        insert_row(
            db,
            "documents",
            {
                "id": document_id,
                "content_hash": art.content_hash,
                "title": art.title,
                "published": art.published,
                "language": art.language,
                "text": art.text,
                "first_seen": now,
                "story_id": document_id if story is None else story,
                "minhash": art.signature,
                "meeting_id": None
                if meeting is None
                else meeting_for(db, meeting.kind, meeting.date, meeting.place, meeting.participants),
                "meeting_kind": None if meeting is None else art.document_kind,
            },
        )
        if art.announces is not None:
            record_announcement(db, document_id, *art.announces)
        if art.signature is not None:
            index_bands(db, document_id, art.bands)
        return document_id, True

    # --- per-site template lines ---------------------------------------------------------------------------

    def site_line_counts(self, host: str, keys: Iterable[str] | None = None) -> SiteLineCounts:
        """Return the per-line page counts of a host (only of `keys` when given) and the pages counted over.

        Pass the keys of the lines at hand: a large site has tens of thousands of counted lines.
        """
        sql = "select line_key, pages, article_pages from site_lines where host = ?"
        if keys is None:
            rows = list(self.db.execute(sql, [host]))
        else:
            wanted, rows = list(keys), []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows += self.db.execute(f"{sql} and line_key in ({','.join('?' * len(chunk))})", [host, *chunk])
        return SiteLineCounts(
            {k: n for k, n, _ in rows}, self.site_page_count(host), {k: a for k, _, a in rows if a is not None}
        )

    def site_page_count(self, host: str) -> int:
        """Return how many pages of a host have had their lines counted."""
        total = self.db.execute("select pages from site_pages where host = ?", [host]).fetchone()
        return int(total[0]) if total else 0

    def listing_counted(self, url: str) -> bool:
        """Return True when the lines of this listing page have been counted already."""
        return self.db.execute("select 1 from site_listings where url = ?", [url]).fetchone() is not None

    def add_site_lines(
        self, host: str, articles: list[set[str]], listings: Mapping[str, set[str]] | None = None
    ) -> None:
        """Count the line keys of newly seen pages of a host (each page's keys once): articles, and listings by URL."""
        listings = listings or {}
        if not articles and not listings:
            return
        with self._write() as db:
            db.conn.executemany(
                "insert or ignore into site_listings (url, host, counted_at) values (?, ?, ?)",
                [(url, host, utcnow()) for url in listings],
            )
            tally: dict[str, list[int]] = {}  # key -> [pages, article pages]
            for keys, article in [*((k, 1) for k in articles), *((k, 0) for k in listings.values())]:
                for key in keys:
                    seen = tally.setdefault(key, [0, 0])
                    seen[0] += 1
                    seen[1] += article
            db.conn.executemany(
                "insert into site_lines (host, line_key, pages, article_pages) values (?, ?, ?, ?) "
                "on conflict (host, line_key) do update set pages = pages + excluded.pages, "
                "article_pages = coalesce(article_pages, 0) + excluded.article_pages",
                [(host, k, n, a) for k, (n, a) in tally.items()],
            )
            db.execute(
                "insert into site_pages (host, pages) values (?, ?) "
                "on conflict (host) do update set pages = pages + excluded.pages",
                [host, len(articles) + len(listings)],
            )

    def applied_template(self, host: str, keys: Iterable[str]) -> set[str]:
        """Return which of these template line keys the host's archived texts were already cleaned of."""
        wanted, found = list(keys), set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            sql = f"select line_key from site_template where host = ? and line_key in ({','.join('?' * len(chunk))})"
            found |= {row[0] for row in self.db.execute(sql, [host, *chunk])}
        return found

    def template_lines(self, host: str) -> set[str]:
        """Return every template line key the host's archived texts are cleaned of."""
        return {row[0] for row in self.db.execute("select line_key from site_template where host = ?", [host])}

    def mark_template_applied(self, host: str, keys: Iterable[str]) -> None:
        """Note that the host's archived texts are now clean of these template lines."""
        with self._write() as db:
            db.conn.executemany(
                "insert or ignore into site_template (host, line_key) values (?, ?)", [(host, k) for k in keys]
            )

    def host_texts(self, host: str) -> list[tuple[int, str]]:
        """Return (page id, current text) of every archived page of a host."""
        sql = "select p.id, d.text from pages p join documents d on d.id = p.document_id where p.host = ?"
        return [(int(page_id), text) for page_id, text in self.db.execute(sql, [host]).fetchall()]

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
            if pid is None or not pid_alive(int(pid)):
                stale.append(run_id)
        with self._write() as db:
            for run_id in stale:
                db.table("runs").update(run_id, {"status": "failed", "finished": utcnow()})
        return len(stale)

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: Mapping[str, int],
        error_samples: list[dict],
        stopped: Mapping[str, str] | None = None,
        bounded: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Record the end of a crawl: status, counts, a sample of its errors, the sources it stopped or cut short."""
        fields = {"finished": utcnow(), "status": status, "error_samples": json.dumps(error_samples[:50]), **counts}
        ends = {"stopped": json.dumps(dict(stopped or {})), "bounded": json.dumps(dict(bounded or {}))}
        with self._write() as db:
            db.table("runs").update(run_id, {**fields, **ends})

    def settle_run(
        self, pid: int, sources: list[str], trigger: str, exit_code: int, duration: float, reason: str
    ) -> int:
        """Record how a crawl process ended: its exit code and duration on its run, which fails if left running.

        A process that died before recording a run gets a failed run. Returns the run id.
        """
        with self._write() as db:
            row = db.execute("select id, status from runs where pid = ? order by id desc limit 1", [pid]).fetchone()
            if row is None:
                extra = {"pid": pid, "exit_code": exit_code, "duration": duration}
                return _ended_run(db, sources, trigger, "failed", reason, extra)
            fields: dict[str, Any] = {"exit_code": exit_code, "duration": duration}
            if row[1] == "running":
                fields.update(
                    status="failed", finished=utcnow(), error_samples=json.dumps([{"url": "", "error": reason}])
                )
            db.table("runs").update(row[0], fields)
            return int(row[0])

    def record_skipped(self, sources: list[str], trigger: str, reason: str) -> int:
        """Record a run that did not start (its previous run still going): status "skipped"."""
        with self._write() as db:
            return _ended_run(db, sources, trigger, "skipped", reason, {})

    def integrity_ok(self) -> bool:
        """Return True when SQLite's integrity check passes."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _ended_run(db: Database, sources: list[str], trigger: str, status: str, reason: str, extra: dict[str, Any]) -> int:
    """Insert a run that has already ended (no crawl counts) and return its id."""
    now = utcnow()
    row = {
        "sources": json.dumps(sources),
        "trigger": trigger,
        "started": now,
        "finished": now,
        "status": status,
        "error_samples": json.dumps([{"url": "", "error": reason}]),
        **_ZERO_COUNTS,
        **extra,
    }
    return int(db.table("runs").insert(row).last_pk or 0)


def pid_alive(pid: int) -> bool:
    """Return True when a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
