"""What a readout is: an announcement of a meeting to come, or a report of one event (talks, a visit, a call …)."""

from __future__ import annotations

import re

# said of a meeting still to come: "will meet", "is expected to", "将会见", "应邀…将…访问", "посетит"
FUTURE = re.compile(
    r"\bwill (?:meet|visit|hold|have|pay|attend|travel|take part|participate|talk)\b"
    r"|\b(?:is|are) (?:expected|scheduled|due|set) to\b|\bto (?:meet|visit|hold talks|pay)\b"
    r"|\bupcoming\b|\bschedule of\b|\bpreview\b"
    r"|将(?:会见|会晤|举行|同|与|出席|访问|对|赴|前往|进行)|应邀.{0,40}将|即将"
    r"|\bсостоится\b|\bпроведёт\b|\bпроведет\b|\bпосетит\b|\bвстретится\b|\bпримет участие\b",
    re.I,
)
# said of a meeting that took place; a readout's lead that holds one is a report, even when it mentions a future visit
PAST = re.compile(
    r"\b(?:held|met|had|talked|discussed|took part|attended|visited|signed|exchanged|spoke)\b"
    r"|\bпровел\w*|\bпровёл\w*|\bвстретил\w*|\bсостоял\w*|\bпровели\b|\bобсудил\w*",
    re.I,
)
# a document's own kind, most specific first; the meeting kinds (talks, meeting, calls) come after these
DOCUMENT_KINDS = (
    (
        "press statements",
        re.compile(
            r"press statements|statements (?:for|to) the press|joint press|共同会见记者|会见记者|заявления для прессы"
            r"|пресс-заявлени",
            re.I,
        ),
    ),
    ("joint statement", re.compile(r"joint (?:statement|declaration)|联合声明|совместное заявление", re.I)),
    (
        "banquet",
        re.compile(r"\bbanquet\b|\bdinner\b|\bluncheon\b|宴会|宴请|午宴|晚宴|\bужин\b|\bобед\b|\bзавтрак\b", re.I),
    ),
    ("ceremony", re.compile(r"\bceremony\b|仪式|церемони", re.I)),
    ("visit", re.compile(r"\bvisit(?:s|ed|ing)?\b|\btours?\b|参观|访问|посетил\w*|посещени\w*|визит\w*", re.I)),
)


def is_announcement(title: str | None, first_sentence: str, lead: str = "") -> bool:
    """Return whether a text announces a meeting to come rather than reporting one.

    A future marker in the title decides; in the first sentence, only when the lead (its first lines) reports
    nothing already done: the Kremlin's readout of a meeting may open with what the next day's talks will cover.
    """
    if FUTURE.search(title or ""):
        return True
    return bool(FUTURE.search(first_sentence)) and not PAST.search(f"{first_sentence} {lead}")


def document_kind(text: str, title_kind: str | None) -> str | None:
    """Return the kind a document's title gives it beyond the meeting's (press statements, a visit, a banquet …).

    "Press statements following Russian-Chinese talks" is press statements; a title that says talks or a meeting
    ("… holds talks during state visit") is not a visit. None when the title says nothing more than the meeting kind.
    """
    for kind, pattern in DOCUMENT_KINDS:
        if pattern.search(text) and not (kind == "visit" and title_kind):
            return kind
    return None
