"""Errors raised by the archive (storage knows nothing of the crawler; crawler/errors.py lists these with the rest)."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class of the archive's errors."""


class SearchError(ArchiveError, ValueError):
    """A search the archive cannot run: an empty query or bad full-text syntax."""


class NotFound(ArchiveError, LookupError):
    """Nothing in the archive by that name: no revisions of a URL, no such revision, no capture."""
