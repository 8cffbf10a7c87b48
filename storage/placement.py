"""Where a capture from the past goes among a page's revisions: a pure rule, with no database."""

from __future__ import annotations

from dataclasses import dataclass

SAME, EARLIER, INSERT = "same", "earlier", "insert"


@dataclass(frozen=True)
class Known:
    """One revision of a page as the rule sees it: its number, capture time (ISO 8601 UTC) and content hash."""

    number: int
    captured_at: str
    content_hash: str


@dataclass(frozen=True)
class Placement:
    """What to do with a capture: SAME (its text is the revision in force then), EARLIER (the next revision's text
    was there already at this time), or INSERT as revision `number` (later revisions move up by one)."""

    kind: str
    number: int
    previous: Known | None = None  # the revision in force just before the capture
    following: Known | None = None  # the first revision after it


def place(revisions: list[Known], captured_at: str, content_hash: str) -> Placement:
    """Return where a capture taken at `captured_at` with this text belongs among a page's revisions (oldest first)."""
    previous = next((r for r in reversed(revisions) if r.captured_at <= captured_at), None)
    following = next((r for r in revisions if r.captured_at > captured_at), None)
    if previous is not None and previous.content_hash == content_hash:
        return Placement(SAME, previous.number, previous, following)
    if following is not None and following.content_hash == content_hash:
        return Placement(EARLIER, following.number, previous, following)
    return Placement(INSERT, previous.number + 1 if previous else 1, previous, following)
