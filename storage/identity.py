"""The archive's identity: a UUID made when the archive is created, the base of its permanent Atom ids."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlite_utils import Database


@dataclass(frozen=True)
class Identity:
    """Who this archive is: its UUID and the day it was created (UTC)."""

    uuid: str
    created: str  # ISO 8601 UTC

    @property
    def tag(self) -> str:
        """The archive's tag: URI (RFC 4151): unique to this archive, and the same for as long as it lives."""
        return f"tag:readouts,{self.created[:10]}:archive/{self.uuid}"


def identity(db: Database) -> Identity | None:
    """Return the archive's identity (None in an archive not yet migrated to have one)."""
    if not db["archive_identity"].exists():
        return None
    row = db.execute("select uuid, created from archive_identity").fetchone()
    return Identity(*row) if row else None


def feed_id(archive: Identity, kinds: tuple[str, ...] = (), source: str | None = None) -> str:
    """Return the Atom id of the archive's change feed, its own for each filter of kinds and source."""
    filters = [("kind", k) for k in sorted(set(kinds))] + ([("source", source)] if source else [])
    return f"{archive.tag}/changes" + (f"?{urlencode(filters)}" if filters else "")


def entry_id(archive: Identity, event_id: int) -> str:
    """Return the Atom id of one change event: the same in every feed of the archive that carries it."""
    return f"{archive.tag}/event/{int(event_id)}"
