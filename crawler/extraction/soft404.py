"""Soft 404s: pages answered with 200 that only say the article is not there."""

from __future__ import annotations

import re

from crawler.extraction.extract import Extracted

MAX_NOTICE_CHARS = 600  # a "not found" notice is short; a readout that mentions "404" is not
_MISSING = re.compile(
    r"\b404\b|not found|does not exist|doesn't exist|no longer (?:available|exists)|has been (?:removed|deleted)"
    r"|页面不存在|找不到|已删除|已被删除|страница не найдена|не существует",
    re.IGNORECASE,
)


def looks_missing(page: Extracted) -> bool:
    """Return True when an extracted page is a short "not found" notice rather than an article."""
    text = page.text
    if len(text) > MAX_NOTICE_CHARS:
        return False
    return bool(_MISSING.search(text) or _MISSING.search(page.title or ""))
