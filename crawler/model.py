"""The records every layer shares: the fetched page the spider hands to the pipeline, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class FetchedPage:
    """One answer for an article URL, as the spider yields it to the item pipeline."""

    url: str  # canonical URL the page is archived under
    final_url: str  # where the answer came from after redirects
    source: str
    status: int  # 0 when no answer came
    body: bytes = b""  # decoded (content-encoding undone)
    wire_body: bytes | None = None  # the body as received, when it came content-encoded (kept in the WARC)
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    recheck: bool = False  # a known page asked again with its validators
    location: str | None = None  # a redirect's target (re-checks do not follow redirects)
    error: str | None = None  # why the fetch failed
    listing: bool = False  # a listing page: never archived, its lines only learned from (the site's template)
