"""Datasette metadata for an archive: descriptions, licence notes, full-text search, facets and canned queries."""

from __future__ import annotations

from typing import Any

from storage.clock import TIME_FORMAT

LICENCE_NOTE = (
    "Texts are official readouts as published by the ministries, embassies and agencies named in each copy; "
    "they remain theirs. readouts stores them for research and reference, with the URL of every copy."
)

QUERIES: dict[str, dict[str, Any]] = {
    "latest_readouts": {
        "title": "Latest readouts",
        "description": "The 100 most recently published documents, with the sources that carry them.",
        "sql": """select r.id, r.published, r.title, r.language, r.sources, r.copies, r.meeting_id
from readouts r order by coalesce(r.published, r.first_seen) desc, r.id desc limit 100""",
    },
    "meetings_with_documents": {
        "title": "Meetings with their documents",
        "description": "Each meeting (talks, meeting, call, exchange of messages) and every document reporting it.",
        "sql": """select m.id as meeting_id, m.date, m.kind, m.place, m.participants, d.id as document_id, d.title,
       d.language, (select group_concat(distinct c.source) from copies c where c.document_id = d.id) as sources
from meetings m join documents d on d.meeting_id = m.id
order by m.date desc, m.id, d.id limit 500""",
    },
    "changes_last_7_days": {
        "title": "Changes in the last 7 days",
        "description": "New, changed, gone, back and moved pages seen in the last seven days, newest first.",
        "sql": """select at, kind, source, title, url, revision, diff from events
where at >= strftime('"""
        + TIME_FORMAT
        + """', 'now', '-7 days') order by at desc, id desc limit 500""",
    },
    "source_health": {
        "title": "Source health",
        "description": "Per source: pages archived, pages failing, newest article, last check, last run.",
        "sql": """select p.source, count(*) as pages, sum(p.content_hash is not null) as with_text,
       sum(p.error is not null) as failing, max(case when p.content_hash is not null then p.first_seen end)
       as newest_article, max(p.last_checked) as last_checked,
       (select r.status || ' ' || r.started from runs r where r.sources like '%"' || p.source || '"%'
        order by r.id desc limit 1) as last_run
from pages p group by p.source order by p.source""",
    },
}

TABLES: dict[str, dict[str, Any]] = {
    "readouts": {
        "description": "One row per distinct readout text. Search it (Chinese and Russian too: the newest archived "
        "first, or sorted by the column you choose); facet by language and year, or by source with ?_facet=sources.",
        "fts_table": "documents_words",
        "fts_pk": "id",
        # cheap columns only: a sources facet costs a subquery per matching row (on request: ?_facet=sources)
        "facets": ["language", "year"],
        "sort_desc": "published",
        "columns": {
            "sources": "The sources that publish this text (JSON list)",
            "copies": "How many pages carry this exact text",
            "meeting_id": "The meeting this readout reports (open it for every version side by side)",
            "story_id": "Documents that are near-duplicates of each other share a story",
        },
    },
    "documents": {
        "description": "One row per distinct readout text (by content hash).",
        "facets": ["language"],
        "columns": {
            "content_hash": "SHA-256 of the normalised text",
            "published": "Publication date as the page gives it (YYYY-MM-DD)",
            "meeting_id": "The meeting this readout reports",
        },
    },
    "pages": {
        "description": "One row per article URL: its state, last check and error. Open a URL's history for diffs.",
        "facets": ["source", "state"],
        "columns": {"error": "Why the last fetch or extraction failed", "state": "live, gone or moved"},
    },
    "copies": {"description": "Which page carries which document, from when."},
    "revisions": {"description": "Every version of a page's text over time."},
    "events": {"description": "Change events: new, changed, gone, back, moved.", "facets": ["kind", "source"]},
    "meetings": {"description": "Meetings: date, kind, place and participants.", "facets": ["kind"]},
    "runs": {"description": "Crawl history.", "facets": ["status", "trigger"]},
}


def metadata(database: str) -> dict[str, Any]:
    """Return the Datasette metadata for the archive served under the name `database`."""
    return {
        "title": "readouts: official readouts of diplomatic meetings",
        "description": "Every archived readout as clean text, each meeting recognised once, every edit kept.",
        "license": "Official texts; see the licence note",
        "license_url": "https://github.com/readouts/readouts#the-archive",
        "source": "readouts",
        "source_url": "https://github.com/readouts/readouts",
        "databases": {
            database: {
                "description": LICENCE_NOTE,
                "tables": TABLES,
                "queries": QUERIES,
            }
        },
    }
