"""Read-side of change monitoring: events, page histories, revision texts, captures, and notification bookkeeping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from storage.diff import unified_diff
from storage.errors import NotFound

EVENT_FIELDS = ("at", "kind", "url", "source", "title", "revision", "previous_hash", "content_hash", "diff")


def events(
    db: Database,
    since: str | None = None,
    source: str | None = None,
    kinds: Iterable[str] = (),
    limit: int | None = None,
    pending: bool = False,
    sources: Iterable[str] = (),
    live: bool = False,
) -> list[dict[str, Any]]:
    """Return change events, oldest first (the newest `limit` when limited); `pending`: not yet notified; `live`:
    only those seen live (not changes found in retrospect from captures, which are never notified)."""
    filters: list[str] = ["retrospective = 0"] if live else []
    args: list[Any] = []
    if since:
        filters.append("at >= ?")
        args.append(since)
    if source:
        filters.append("source = ?")
        args.append(source)
    names = list(sources)
    if names:
        filters.append(f"source in ({', '.join('?' for _ in names)})")
        args += names
    wanted = list(kinds)
    if wanted:
        filters.append(f"kind in ({', '.join('?' for _ in wanted)})")
        args += wanted
    if pending:
        filters.append("notified_at is null")
    sql = f"""select e.*,
        (select r.id from revisions r where r.page_id = e.page_id and r.number = e.revision) as revision_id,
        (select d.id from documents d where d.content_hash = e.content_hash) as document_id
        from events e where {" and ".join(filters) or "1"} order by e.id desc"""
    if limit:
        sql += " limit ?"
        args.append(limit)
    rows = list(db.query(sql, args))
    rows.reverse()
    return [{**{k: row[k] for k in EVENT_FIELDS}, **row} for row in rows]


def mark_notified(db: Database, event_ids: list[int], at: str) -> None:
    """Record that these events were delivered."""
    with db.conn:
        db.conn.executemany("update events set notified_at = ? where id = ?", [(at, i) for i in event_ids])


def page_id(db: Database, url: str) -> int | None:
    """Return the id of the page with this URL, if archived."""
    row = db.execute("select id from pages where url = ?", [url]).fetchone()
    return int(row[0]) if row else None


def history(db: Database, url: str) -> list[dict[str, Any]]:
    """Return the revisions of a page, oldest first, with their times, hashes and texts."""
    return list(
        db.query(
            """select r.number as revision, r.fetched_at, r.content_hash, r.title, r.body_sha256, r.document_id,
                      r.warc_file, r.warc_offset, r.origin, r.origin_url,
                      coalesce(r.captured_at, r.fetched_at) as captured_at, d.text
               from revisions r join documents d on d.id = r.document_id
               join pages p on p.id = r.page_id where p.url = ? order by r.number""",
            [url],
        )
    )


def revision_diff(db: Database, url: str, old: int | None = None, new: int | None = None) -> str:
    """Return a unified diff between two revisions of a page (default: the last two)."""
    revisions = {r["revision"]: r for r in history(db, url)}
    if not revisions:
        raise NotFound(f"no revisions of {url} in the archive")
    have = f"(it has {', '.join(map(str, sorted(revisions)))})"
    if len(revisions) == 1 and old is None and new is None:
        raise NotFound(f"{url} has a single revision, nothing to compare: `readouts history URL` shows it")
    if new is not None and new not in revisions:
        raise NotFound(f"{url} has no revision {new} {have}")
    new = new or max(revisions)
    old = old or max(new - 1, min(revisions))
    if old not in revisions:
        raise NotFound(f"{url} has no revision {old} {have}")
    return unified_diff(revisions[old]["text"], revisions[new]["text"], old, new)


def capture_location(db: Database, url: str, revision: int | None = None) -> tuple[str, int, bool]:
    """Return (WARC file, offset, was_revisit) of the record holding the body of a page's newest capture (or one
    revision's capture); a revisit record resolves to the record of the identical body."""
    if revision is None:
        sql = "select c.id from captures c join pages p on p.id = c.page_id where p.url = ? order by c.id desc limit 1"
        args: list[Any] = [url]
    else:
        sql = (
            """select r.capture_id from revisions r join pages p on p.id = r.page_id where p.url = ? and r.number = ?"""
        )
        args = [url, revision]
    row = db.execute(sql, args).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"no capture of {url}" + (f" revision {revision}" if revision else "") + " in the archive")
    file, offset, revisit_of = db.execute(
        "select warc_file, warc_offset, revisit_of from captures where id = ?", [row[0]]
    ).fetchone()
    if revisit_of is not None:
        file, offset = db.execute("select warc_file, warc_offset from captures where id = ?", [revisit_of]).fetchone()
    return file, int(offset), revisit_of is not None


def latest_captures(
    db: Database, source: str | None = None, page_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Return the capture of each page's newest revision (revisits resolved to the body's record), to re-extract.

    All pages, or those of one source, or the pages with these ids.
    """
    sql = """
        select p.id as page_id, p.url, p.source, p.host, p.content_hash, p.revision,
               coalesce(o.warc_file, c.warc_file) as warc_file, coalesce(o.warc_offset, c.warc_offset) as warc_offset,
               c.fetched_at
        from pages p
        join revisions r on r.page_id = p.id and r.number = p.revision
        join captures c on c.id = r.capture_id
        left join captures o on o.id = c.revisit_of
        where p.content_hash is not null {where} order by p.id
    """
    if page_ids is not None:
        ids = list(page_ids)
        return list(db.query(sql.format(where=f"and p.id in ({','.join('?' * len(ids))})"), ids)) if ids else []
    return list(db.query(sql.format(where="and p.source = ?" if source else ""), [source] if source else []))
