"""Bytes of an article page -> its clean body text and metadata, or a failure with its reason. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extracted:
    """The article body (paragraph lines, title excluded) and metadata of one page."""

    title: str | None
    lines: tuple[str, ...]
    published: str | None = None  # YYYY-MM-DD
    author: str | None = None
    sitename: str | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        """Return the body as text, one paragraph per line."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Failure:
    """Why a page yielded no article text (e.g. "not-html", "empty", "bad-encoding", "too-deep")."""

    reason: str


def extract(body: bytes, url: str, content_type: str | None = None, language: str | None = None) -> Extracted | Failure:
    """Extract the article body and metadata from raw page bytes."""
    raise NotImplementedError  # being written: see tests/test_extract.py
