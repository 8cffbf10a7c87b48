"""Meetings in the archive: documents reporting the same meeting (same date, shared participants) share a meeting."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlite_utils import Database

from storage.rows import insert_row


@dataclass(frozen=True)
class Copy:
    """One page carrying a document."""

    url: str
    source: str
    first_seen: str
    published: str | None  # the date the page gives for its text


def original_first(copies: Iterable[Copy]) -> list[Copy]:
    """Order a document's copies with the original publisher first: earliest date on the page, then first seen.

    Republishers carry the text days later, or undated; the crawl order alone (first seen) cannot tell who published
    first when several sites are crawled together.
    """
    return sorted(copies, key=lambda c: (c.published is None, c.published or "", c.first_seen))


def copies_of(db: Database, document_id: int) -> list[dict[str, Any]]:
    """Return every page carrying the document now (url, source, first seen, published), the original first."""
    rows = db.execute(
        """select c.url, c.source, c.first_seen, p.published from copies c join pages p on p.id = c.page_id
           where c.document_id = ? and c.current = 1 order by c.id""",
        [document_id],
    ).fetchall()
    return [asdict(copy) for copy in original_first(Copy(*row) for row in rows)]


def meeting_for(db: Database, kind: str, date: str | None, place: str | None, participants: tuple[str, ...]) -> int:
    """Return the meeting of the same date with the same parties (creating one if there is none)."""
    wanted = set(participants)
    if date:
        for meeting_id, stored, stored_place in db.execute(
            "select id, participants, place from meetings where date = ?", [date]
        ).fetchall():
            if same_meeting(wanted, set(json.loads(stored))):
                if place and not stored_place:
                    db.execute("update meetings set place = ? where id = ?", [place, meeting_id])
                return int(meeting_id)
    row = {"date": date, "kind": kind, "place": place, "participants": json.dumps(sorted(wanted))}
    return insert_row(db, "meetings", row)


def same_meeting(wanted: set[str], stored: set[str]) -> bool:
    """Return whether a document's parties make it a report of a meeting of the same day with these stored parties.

    Two shared parties (or the one party of a one-party report); a meeting of three or more is not the bilateral
    talks of two of its leaders that day, nor the other way round.
    """
    if (len(wanted) > 2) != (len(stored) > 2):
        return False
    return len(wanted & stored) >= min(2, len(wanted))


def record_announcement(db: Database, document_id: int, date: str | None, participants: tuple[str, ...]) -> None:
    """Keep what a document announces (a meeting's date and parties) without joining it to any meeting."""
    db.execute(
        "insert or replace into announcements (document_id, date, participants) values (?, ?, ?)",
        [document_id, date, json.dumps(sorted(participants))],
    )


def announcements_of(db: Database, date: str | None, participants: list[str]) -> list[dict[str, Any]]:
    """Return the documents that announced a meeting of this date and these parties (two shared, or all of one)."""
    if not date:
        return []
    wanted, out = set(participants), []
    for document_id, stored, title, published in db.execute(
        "select a.document_id, a.participants, d.title, d.published from announcements a "
        "join documents d on d.id = a.document_id where a.date = ? order by a.document_id",
        [date],
    ).fetchall():
        if len(wanted & set(json.loads(stored))) >= min(2, len(wanted)):
            out.append({"document_id": document_id, "title": title, "published": published})
    return out


def meetings(
    db: Database, participant: str | None = None, since: str | None = None, until: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one record per meeting with its documents, by date; each document's copies, the original first."""
    filters, args = [], []
    if since:
        filters.append("date >= ?")
        args.append(since)
    if until:
        filters.append("date <= ?")
        args.append(until)
    sql = f"select * from meetings where {' and '.join(filters) or '1'} order by date, id"
    for row in db.query(sql, args):
        names = json.loads(row["participants"])
        if participant and participant not in names:
            continue
        documents = []
        for doc in db.query(
            "select id as document_id, title, language, meeting_kind as kind from documents where meeting_id = ? "
            "order by id",
            [row["id"]],
        ):
            copies = copies_of(db, doc["document_id"])
            first = copies[0] if copies else {"url": None, "source": None}
            documents.append({**doc, "url": first["url"], "source": first["source"], "copies": copies})
        yield {
            "meeting_id": row["id"],
            "date": row["date"],
            "kind": row["kind"],
            "place": row["place"],
            "participants": names,
            "documents": documents,
            "announcements": announcements_of(db, row["date"], names),
        }


def meeting_with_texts(db: Database, meeting_id: int) -> dict[str, Any] | None:
    """Return one meeting with every document reporting it: title, date, language, text and current copies."""
    row = db.execute("select * from meetings where id = ?", [meeting_id]).fetchone()
    if row is None:
        return None
    documents = list(
        db.query(
            "select id as document_id, title, published, language, meeting_kind as kind, text from documents "
            "where meeting_id = ? "
            "order by id",
            [meeting_id],
        )
    )
    for doc in documents:
        doc["copies"] = copies_of(db, doc["document_id"])
    _, date, kind, place, participants = row
    return {
        "meeting_id": meeting_id,
        "date": date,
        "kind": kind,
        "place": place,
        "participants": json.loads(participants),
        "documents": documents,
    }


def documents_without_meeting(db: Database) -> list[tuple[int, str | None]]:
    """Return (document id, title) of the documents no meeting was recognised in (announcements are not missed)."""
    return [
        (row[0], row[1])
        for row in db.execute(
            "select id, title from documents where meeting_id is null "
            "and id not in (select document_id from announcements) order by id"
        )
    ]
