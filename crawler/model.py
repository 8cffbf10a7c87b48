"""The records every layer shares: the fetched page, the article and meeting extracted from it, its outcome.

Standard library only, so that storage (which knows nothing else of the crawler) can import it too.
"""

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


@dataclass(frozen=True)
class Extracted:
    """The article body (paragraph lines, title excluded) and metadata of one page."""

    title: str | None
    lines: tuple[str, ...]
    published: str | None = None  # YYYY-MM-DD
    author: str | None = None
    sitename: str | None = None
    language: str | None = None
    place: str | None = None  # a dateline place the page marks up (h-entry p-location, itemprop=location)

    @property
    def text(self) -> str:
        """Return the body as text, one paragraph per line."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Failure:
    """Why a page yielded no article text (e.g. "not-html", "empty", "bad-encoding", "too-deep")."""

    reason: str


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


@dataclass(frozen=True)
class Meeting:
    """What a readout reports: the kind of meeting, its date (YYYY-MM-DD), place and participants."""

    kind: str
    date: str | None
    place: str | None
    participants: tuple[str, ...]
    document_kind: str = ""  # what this document reports of it: talks, press statements, a visit, a banquet …
    announcement: bool = False  # the document announces the meeting ("will meet"): it reports none


@dataclass(frozen=True)
class ArticleText:
    """The extracted article of a page, as the archive stores it: cleaned text, hash, signature, meeting."""

    content_hash: str
    text: str
    title: str | None = None
    published: str | None = None
    language: str | None = None
    author: str | None = None
    sitename: str | None = None
    signature: bytes | None = None  # MinHash signature of the text, for near-duplicate stories
    bands: tuple[str, ...] = ()  # its LSH band keys
    meeting: Meeting | None = None  # the meeting it reports (an announcement reports none)
    document_kind: str | None = None  # what the document reports of its meeting: talks, press statements, a visit …
    announces: tuple[str | None, tuple[str, ...]] | None = None  # date and participants of a meeting announced
