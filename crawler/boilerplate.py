"""Per-site template lines: lines that repeat on many pages of one site are its template, not content."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def line_key(line: str) -> str:
    """Return a short stable key for a line (normalised, hashed)."""
    raise NotImplementedError


def page_keys(lines: Iterable[str]) -> set[str]:
    """Return the distinct line keys of one page."""
    raise NotImplementedError


def template_keys(counts: Mapping[str, int], pages: int) -> frozenset[str]:
    """Return the keys that count as template given per-key page counts over `pages` pages of a site."""
    raise NotImplementedError


def strip_template(lines: Iterable[str], template: frozenset[str]) -> tuple[str, ...]:
    """Return the lines with the site's template lines removed."""
    raise NotImplementedError
