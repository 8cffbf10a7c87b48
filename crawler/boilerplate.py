"""Per-site template lines: lines that repeat on many pages of one site are its template, not content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from crawler.fingerprint import normalise
from crawler.shapes import speaker_label

MIN_PAGES = 3  # a line must be seen on at least this many pages of a site…
MIN_SHARE = 0.2  # …and on at least this share of them, to count as template


def line_key(line: str) -> str:
    """Return a short stable key for a line (normalised, case-folded, hashed)."""
    return hashlib.sha256(normalise(line).casefold().encode("utf-8")).hexdigest()[:16]


def page_keys(lines: Iterable[str]) -> set[str]:
    """Return the distinct line keys of one page."""
    return {line_key(line) for line in lines if line.strip()}


def template_keys(counts: Mapping[str, int], pages: int) -> frozenset[str]:
    """Return the keys that count as template given per-key page counts over `pages` pages of a site."""
    threshold = max(MIN_PAGES, MIN_SHARE * pages)
    return frozenset(key for key, seen in counts.items() if seen >= threshold)


def strip_template(lines: Iterable[str], template: frozenset[str]) -> tuple[str, ...]:
    """Return the lines without the site's template lines at the start and end of the body."""
    kept = list(lines)
    # a speaker's label ("President of Russia Vladimir Putin:") repeats on a site's transcripts, yet is their text
    while kept and line_key(kept[0]) in template and not speaker_label(kept[0]):
        kept.pop(0)
    while kept and line_key(kept[-1]) in template and not speaker_label(kept[-1]):
        kept.pop()
    return tuple(kept)
