"""Per-site template lines: lines that repeat on many pages of one site are its template, not content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from crawler.extraction.fingerprint import normalise
from crawler.extraction.shapes import speaker_label
from storage.archive import SiteLineCounts

MIN_PAGES = 3  # a line must be seen on at least this many pages of a site…
MIN_SHARE = 0.2  # …and on at least this share of them, to count as template…
MIN_ARTICLE_PAGES = 2  # …and on at least this many article pages (the others may be listing pages)


def line_key(line: str) -> str:
    """Return a short stable key for a line (normalised, case-folded, hashed)."""
    return hashlib.sha256(normalise(line).casefold().encode("utf-8")).hexdigest()[:16]


def page_keys(lines: Iterable[str]) -> set[str]:
    """Return the distinct line keys of one page."""
    return {line_key(line) for line in lines if line.strip()}


def template_keys(
    counts: Mapping[str, int], pages: int, in_articles: Mapping[str, int] | None = None
) -> frozenset[str]:
    """Return the keys that count as template given per-key page counts over `pages` pages of a site.

    With `in_articles` (per-key counts of article pages among them), a line must also be on MIN_ARTICLE_PAGES
    articles: a listing page shows titles and leads of articles, so a line of one article and a few listings is no
    template.
    """
    threshold = max(MIN_PAGES, MIN_SHARE * pages)
    return frozenset(
        key
        for key, seen in counts.items()
        if seen >= threshold and (in_articles is None or in_articles.get(key, 0) >= MIN_ARTICLE_PAGES)
    )


def site_template(counts: SiteLineCounts) -> frozenset[str]:
    """Return the template keys among a site's line counts."""
    return template_keys(counts.seen, counts.pages, counts.in_articles)


def strip_template(lines: Iterable[str], template: frozenset[str]) -> tuple[str, ...]:
    """Return the lines without the site's template lines at the start and end of the body."""
    kept = list(lines)
    # a speaker's label ("President of Russia Vladimir Putin:") repeats on a site's transcripts, yet is their text
    while kept and line_key(kept[0]) in template and not speaker_label(kept[0]):
        kept.pop(0)
    while kept and line_key(kept[-1]) in template and not speaker_label(kept[-1]):
        kept.pop()
    return tuple(kept)


def has_template_edge(text: str, template: frozenset[str]) -> bool:
    """Return True when a stored text starts or ends with a template line (so cleaning it again would change it)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and strip_template(lines, template) != tuple(lines)


def stale_pages(texts: Iterable[tuple[int, str]], learned: frozenset[str]) -> list[int]:
    """Return the ids of the (page id, stored text) pairs whose text starts or ends with a newly learned line."""
    return [page_id for page_id, text in texts if has_template_edge(text, learned)]
