"""The records every layer shares: what became of a fetched page."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What became of a fetched page: the re-check rules' verdict, then the archive's, counted in the run's tally."""

    ERROR = "error"  # the fetch failed: a new page is recorded with its error, a known one keeps its text
    FAILED = "failed"  # an answer with no article text: recorded with the reason, never hashed
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    GONE = "gone"
    MOVED = "moved"
    NEW_DOCUMENT = "new_document"
    DUPLICATE = "duplicate"
    # the two verdicts classify() gives before the archive has the last word
    EXTRACT = "extract"  # the answer alone decides nothing: extract its body and classify again
    ARTICLE = "article"  # text to archive: its hash decides new document, duplicate, changed or unchanged
