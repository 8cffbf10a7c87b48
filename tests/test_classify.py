"""The re-check rules as one pure function: each row is an answer and what it must mean."""

from __future__ import annotations

import pytest

from crawler.model import Outcome
from crawler.monitor.classify import Answer, Verdict, classify
from spiders.pipeline import RunTally

GONE_PAGE = "http://a.example/web/system/404.html"
TEXT = {"extracted": True}

CASES: list[tuple[str, Answer, Verdict]] = [
    # a fetch that failed
    ("new page, timed out", Answer(0, error="took longer than 3s"), Verdict(Outcome.ERROR, "took longer than 3s")),
    ("known page, timed out", Answer(0, recheck=True, error="timeout"), Verdict(Outcome.ERROR, "timeout")),
    # a known page's HTTP answer decides alone
    ("304 is unchanged", Answer(304, recheck=True), Verdict(Outcome.UNCHANGED)),
    (
        "301 is moved",
        Answer(301, recheck=True, location="http://a.example/new"),
        Verdict(Outcome.MOVED, None, "http://a.example/new"),
    ),
    ("302 without a target is moved", Answer(302, recheck=True), Verdict(Outcome.MOVED, None, "")),
    (
        "redirect to the site's gone page is gone",
        Answer(302, recheck=True, location=GONE_PAGE, location_is_gone_page=True),
        Verdict(Outcome.GONE, f"soft 404: the site's {GONE_PAGE}"),
    ),
    (
        "200 from the gone page (redirect followed) is gone",
        Answer(200, recheck=True, final_url=GONE_PAGE, final_is_gone_page=True),
        Verdict(Outcome.GONE, f"soft 404: the site's {GONE_PAGE}"),
    ),
    ("404 is gone", Answer(404, recheck=True), Verdict(Outcome.GONE, "HTTP 404")),
    ("410 is gone", Answer(410, recheck=True), Verdict(Outcome.GONE, "HTTP 410")),
    ("200 needs its text", Answer(200, recheck=True), Verdict(Outcome.EXTRACT)),
    ("other 4xx needs its text", Answer(403, recheck=True), Verdict(Outcome.EXTRACT)),
    # a new page's HTTP answer
    ("new page 200 needs its text", Answer(200), Verdict(Outcome.EXTRACT)),
    ("new page's 404 is not a re-check: its text tells", Answer(404), Verdict(Outcome.EXTRACT)),
    ("new page's 304 is not a re-check", Answer(304), Verdict(Outcome.EXTRACT)),
    (
        "new page landing on the gone page fails",
        Answer(200, final_url=GONE_PAGE, final_is_gone_page=True),
        Verdict(Outcome.FAILED, f"soft 404: redirected to the site's {GONE_PAGE}"),
    ),
    # the text decides
    ("known page with text", Answer(200, recheck=True, **TEXT), Verdict(Outcome.ARTICLE)),
    ("new page with text", Answer(200, **TEXT), Verdict(Outcome.ARTICLE)),
    (
        "known page with no article is a soft 404",
        Answer(200, recheck=True, failure="no main text", **TEXT),
        Verdict(Outcome.GONE, "soft 404: no main text"),
    ),
    (
        "known page saying it is not there is gone",
        Answer(200, recheck=True, missing=True, **TEXT),
        Verdict(Outcome.GONE, "soft 404: the page says it is not there"),
    ),
    (
        "new page with no article fails",
        Answer(200, failure="no main text", **TEXT),
        Verdict(Outcome.FAILED, "no main text"),
    ),
    (
        "new page saying it is not there fails",
        Answer(200, missing=True, **TEXT),
        Verdict(Outcome.FAILED, "soft 404: the page says it is not there"),
    ),
]


@pytest.mark.parametrize(("answer", "verdict"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(answer: Answer, verdict: Verdict) -> None:
    assert classify(answer) == verdict


@pytest.mark.parametrize(
    ("outcome", "counter"),
    [
        (Outcome.NEW_DOCUMENT, "new_documents"),
        (Outcome.DUPLICATE, "duplicates"),
        (Outcome.FAILED, "failed"),
        (Outcome.UNCHANGED, "unchanged"),
        (Outcome.CHANGED, "changed"),
        (Outcome.GONE, "gone"),
        (Outcome.MOVED, "moved"),
    ],
)
def test_each_archive_outcome_counts_once_in_its_counter(outcome: Outcome, counter: str) -> None:
    tally = RunTally()
    tally.count(outcome)
    assert {k: v for k, v in tally.counts().items() if v} == {counter: 1}


def test_outcomes_are_the_archives_strings() -> None:
    from storage import archive

    assert [Outcome(v) for v in (archive.NEW_DOCUMENT, archive.DUPLICATE, archive.UNCHANGED, archive.CHANGED)] == [
        Outcome.NEW_DOCUMENT,
        Outcome.DUPLICATE,
        Outcome.UNCHANGED,
        Outcome.CHANGED,
    ]
    assert [Outcome(v) for v in (archive.FAILED, archive.GONE, archive.MOVED)] == [
        Outcome.FAILED,
        Outcome.GONE,
        Outcome.MOVED,
    ]
