"""Soft 404s: pages answered with 200 that only say the article is not there."""

from __future__ import annotations

import re

from crawler.model import Extracted

MAX_NOTICE_CHARS = 600  # a "not found" notice is short; a readout that mentions "404" is not
# words matched as words ("was not founded" is no "not found"); Chinese has no word boundaries to match
_MISSING = re.compile(
    r"\b(?:404|not found|does not exist|doesn't exist|no longer (?:available|exists)|has been (?:removed|deleted)"
    r"|страница не найдена|не существует)\b|页面不存在|找不到|已删除|已被删除",
    re.IGNORECASE,
)


def looks_missing(page: Extracted) -> bool:
    """Return True when an extracted page is a short "not found" notice rather than an article."""
    text = page.text
    if len(text) > MAX_NOTICE_CHARS:
        return False
    return bool(_MISSING.search(text) or _MISSING.search(page.title or ""))
