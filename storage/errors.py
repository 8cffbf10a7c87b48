"""Errors raised by the archive's queries."""

from __future__ import annotations


class SearchError(ValueError):
    """A search the archive cannot run: an empty query or bad full-text syntax."""
