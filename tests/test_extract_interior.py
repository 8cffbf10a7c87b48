"""Lines precision mode drops inside the article's edges (subheadings, short paragraphs) come back from the full run."""

from __future__ import annotations

import pytest

from crawler.extraction.extract import fill_interior

REVERSED = ["Second paragraph.", "First paragraph of the article."]
BODY = ["Menu", "First paragraph of the article.", "A subheading", "Second paragraph.", "Share this"]


@pytest.mark.parametrize(
    ("precise", "full", "expected"),
    [
        (  # a subheading inside the article comes back; the menu and share line outside its edges do not
            ["First paragraph of the article.", "Second paragraph."],
            BODY,
            ["First paragraph of the article.", "A subheading", "Second paragraph."],
        ),
        (["Only in precision mode."], BODY, ["Only in precision mode."]),  # edges not found: precise kept
        (
            ["Second paragraph.", "First paragraph of the article."],
            BODY,
            ["Second paragraph.", "First paragraph of the article."],
        ),
        ([], BODY, []),
        (["  First   paragraph of the article. "], BODY, ["First paragraph of the article."]),  # whitespace ignored
    ],
)
def test_fill_interior(precise: list[str], full: list[str], expected: list[str]) -> None:
    assert fill_interior(precise, full) == expected
