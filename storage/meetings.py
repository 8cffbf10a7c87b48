"""Meetings in the archive: documents reporting the same meeting (same date, shared participants) share a meeting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlite_utils import Database

from storage.rows import insert_row


def assign_meeting(
    db: Database, document_id: int, kind: str, date: str | None, place: str | None, participants: tuple[str, ...]
) -> int:
    """Join the document to the meeting of the same date with the same parties (or create one); return its id."""
    wanted = set(participants)
    need = min(2, len(wanted))
    found = None
    if date:
        for meeting_id, stored, stored_place in db.execute(
            "select id, participants, place from meetings where date = ?", [date]
        ).fetchall():
            if len(wanted & set(json.loads(stored))) >= need:
                found = int(meeting_id)
                if place and not stored_place:
                    db.execute("update meetings set place = ? where id = ?", [place, found])
                break
    if found is None:
        row = {"date": date, "kind": kind, "place": place, "participants": json.dumps(sorted(wanted))}
        found = insert_row(db, "meetings", row)
    db.execute("update documents set meeting_id = ? where id = ?", [found, document_id])
    return found


def meetings(
    db: Database, participant: str | None = None, since: str | None = None, until: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yield one record per meeting with its documents (and one copy URL each), by date."""
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
        documents = list(
            db.query(
                """select d.id as document_id, d.title, d.language,
                          (select url from copies c where c.document_id = d.id and c.current = 1 order by c.id limit 1)
                              as url,
                          (select source from copies c where c.document_id = d.id and c.current = 1
                              order by c.id limit 1) as source
                   from documents d where d.meeting_id = ? order by d.id""",
                [row["id"]],
            )
        )
        yield {
            "meeting_id": row["id"],
            "date": row["date"],
            "kind": row["kind"],
            "place": row["place"],
            "participants": names,
            "documents": documents,
        }


def meeting_with_texts(db: Database, meeting_id: int) -> dict[str, Any] | None:
    """Return one meeting with every document reporting it: title, date, language, text and current copies."""
    row = db.execute("select * from meetings where id = ?", [meeting_id]).fetchone()
    if row is None:
        return None
    documents = list(
        db.query(
            "select id as document_id, title, published, language, text from documents where meeting_id = ? "
            "order by id",
            [meeting_id],
        )
    )
    for doc in documents:
        doc["copies"] = list(
            db.query(
                "select url, source, first_seen from copies where document_id = ? and current = 1 order by id",
                [doc["document_id"]],
            )
        )
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
    """Return (document id, title) of the documents no meeting was recognised in."""
    return [
        (row[0], row[1]) for row in db.execute("select id, title from documents where meeting_id is null order by id")
    ]
