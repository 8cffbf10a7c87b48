"""What an answer for an article URL means (304 unchanged; 3xx moved or gone; 404/410 and soft 404 gone; …)."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.model import Outcome


@dataclass(frozen=True)
class Answer:
    """What the rules need to know of one answer: its HTTP side, and once extracted, its text's."""

    status: int
    recheck: bool = False  # a known page asked again
    error: str | None = None  # the fetch failed
    location: str = ""  # a redirect's target
    final_url: str = ""
    location_is_gone_page: bool = False  # the source names that URL its page for deleted articles
    final_is_gone_page: bool = False
    extracted: bool = False  # the body's text was extracted (the fields below are known)
    failure: str | None = None  # why extraction found no article
    missing: bool = False  # the text is only a "not found" notice


@dataclass(frozen=True)
class Verdict:
    """The outcome, with the reason recorded for a page that has no text, and a move's target."""

    outcome: Outcome
    reason: str | None = None
    target: str | None = None


def classify(answer: Answer) -> Verdict:
    """Return what an answer means; Outcome.EXTRACT when only its text can tell."""
    if answer.error:
        return Verdict(Outcome.ERROR, answer.error)
    if answer.recheck:
        verdict = _recheck(answer)
        if verdict is not None:
            return verdict
    elif answer.final_is_gone_page:
        return Verdict(Outcome.FAILED, f"soft 404: redirected to the site's {answer.final_url}")
    if not answer.extracted:
        return Verdict(Outcome.EXTRACT)
    if answer.failure is not None:
        return Verdict(Outcome.GONE if answer.recheck else Outcome.FAILED, _soft404(answer, answer.failure))
    if answer.missing:
        return Verdict(Outcome.GONE if answer.recheck else Outcome.FAILED, "soft 404: the page says it is not there")
    return Verdict(Outcome.ARTICLE)


def _recheck(answer: Answer) -> Verdict | None:
    """Return what a known page's answer means from its HTTP side alone, or None when its text must tell."""
    redirect = 300 <= answer.status < 400
    if answer.status == 304:
        return Verdict(Outcome.UNCHANGED)
    if redirect and not answer.location_is_gone_page:
        return Verdict(Outcome.MOVED, target=answer.location)
    if redirect or answer.final_is_gone_page:
        return Verdict(Outcome.GONE, f"soft 404: the site's {answer.location or answer.final_url}")
    if answer.status in (404, 410):
        return Verdict(Outcome.GONE, f"HTTP {answer.status}")
    return None


def _soft404(answer: Answer, reason: str) -> str:
    """Return the reason recorded for an answer without article text (a known page's is a soft 404)."""
    return f"soft 404: {reason}" if answer.recheck else reason
