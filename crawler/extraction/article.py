"""An extraction, minus its site's template lines, as the text the archive stores and hashes."""

from __future__ import annotations

from crawler.extraction import boilerplate
from crawler.extraction.extract import Extracted, clean_lines
from crawler.extraction.fingerprint import normal_hash, normalise
from crawler.extraction.meetings import recognise
from crawler.extraction.neardup import fingerprint
from crawler.model import ArticleText


def article_text(extracted: Extracted, template: frozenset[str]) -> ArticleText | None:
    """Return the article to archive (text as published, hash of its normal form), or None when nothing is left."""
    # with the template gone, a title or dateline it hid is at the edge now: peel the edges again
    lines = clean_lines(list(boilerplate.strip_template(extracted.lines, template)), extracted.title)
    text = "\n".join(lines)  # kept as published (typographic quotes, full-width punctuation); only the hash normalises
    normal = normalise(text)
    if not normal:
        return None
    fp = fingerprint(text)
    meeting = recognise(extracted.title, text, extracted.published, extracted.place)
    reports = meeting if meeting and not meeting.announcement else None  # an announcement joins no meeting
    return ArticleText(
        meeting=reports,
        document_kind=reports.document_kind if reports else None,
        announces=(meeting.date, meeting.participants) if meeting and meeting.announcement else None,
        signature=fp.signature,
        bands=fp.bands,
        content_hash=normal_hash(normal),
        text=text,
        title=extracted.title,
        published=extracted.published,
        language=extracted.language,
        author=extracted.author,
        sitename=extracted.sitename,
    )
