"""The comparison of one meeting's readouts: which documents pair, what each pair shares, what each says alone."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from crawler.compare.statements import ENTITY_KINDS, LANGUAGE_FREE, Alignment, align, entities, one_sided, statements

CROSS_LANGUAGE_NOTE = (
    "no two readouts from different publishers in one language: statements are not aligned across languages "
    "(no translation offline); people, countries, numbers and dates are compared"
)


@dataclass(frozen=True)
class Readout:
    """One document of the meeting as compared: who published it, its language and its statements."""

    document_id: int
    title: str | None
    language: str
    publisher: str | None
    kind: str | None
    published: str | None
    statements: tuple[str, ...]


@dataclass(frozen=True)
class PairComparison:
    """Two same-language readouts of different publishers, aligned."""

    a: Readout
    b: Readout
    alignment: Alignment


def language_of(declared: str | None, text: str) -> str:
    """Return a document's language: as declared (its base, "en-US" is "en"), else guessed from its script.

    An undeclared text in Chinese characters is "zh", in Cyrillic "ru", and otherwise "en", the one Latin-script
    language of the readouts archived (a French readout without a declared language would be taken for English).
    """
    if declared:
        return declared.split("-")[0].lower()
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    if sum("\u4e00" <= ch <= "\u9fff" for ch in letters) > len(letters) / 3:
        return "zh"
    if sum("\u0400" <= ch <= "\u04ff" for ch in letters) > len(letters) / 2:
        return "ru"
    return "en"


def readouts_of(meeting: dict[str, Any]) -> list[Readout]:
    """Return the meeting's documents as readouts, split into statements."""
    out = []
    for doc in meeting["documents"]:
        copies = doc.get("copies") or []
        out.append(
            Readout(
                int(doc["document_id"]),
                doc.get("title"),
                language_of(doc.get("language"), doc["text"]),
                copies[0]["source"] if copies else None,
                doc.get("kind"),
                doc.get("published"),
                tuple(statements(doc["text"])),
            )
        )
    return out


def pairs_of(readouts: list[Readout]) -> list[tuple[Readout, Readout]]:
    """Return the pairs worth aligning: one language, different publishers (a site's own copies say the same)."""
    return [
        (a, b)
        for a, b in itertools.combinations(readouts, 2)
        if a.language == b.language and a.publisher != b.publisher
    ]


def compare_meeting(meeting: dict[str, Any]) -> dict[str, Any]:
    """Return the comparison of a meeting's readouts as the JSON record `readouts compare --json` prints."""
    readouts = readouts_of(meeting)
    compared = [PairComparison(a, b, align(list(a.statements), list(b.statements))) for a, b in pairs_of(readouts)]
    shared_in: dict[int, set[int]] = {r.document_id: set() for r in readouts}
    shared = []
    for pc in compared:
        for pair in pc.alignment.shared:
            shared_in[pc.a.document_id].add(pair.a)
            shared_in[pc.b.document_id].add(pair.b)
            shared.append(
                {
                    "a": pc.a.statements[pair.a],
                    "b": pc.b.statements[pair.b],
                    "score": pair.score,
                    "a_document": pc.a.document_id,
                    "b_document": pc.b.document_id,
                    "a_index": pair.a,
                    "b_index": pair.b,
                }
            )
    aligned = {r.document_id for pc in compared for r in (pc.a, pc.b)}
    only = {
        str(r.document_id): [s for i, s in enumerate(r.statements) if i not in shared_in[r.document_id]]
        for r in readouts
        if r.document_id in aligned
    }
    found = {r.document_id: entities("\n".join(r.statements), r.published) for r in readouts}
    one_side: dict[str, dict[str, list[str]]] = {}
    for r in readouts:
        others = [o for o in readouts if o.document_id != r.document_id]
        if not others:
            continue
        kinds = ENTITY_KINDS if all(o.language == r.language for o in others) else LANGUAGE_FREE
        union = entities("")
        for o in others:
            for kind in kinds:
                getattr(union, kind).update(getattr(found[o.document_id], kind))
        missing = {k: v for k, v in one_sided(found[r.document_id], union).items() if k in kinds}
        if missing:
            one_side[str(r.document_id)] = missing
    return {
        "meeting_id": meeting["meeting_id"],
        "date": meeting.get("date"),
        "kind": meeting.get("kind"),
        "participants": meeting.get("participants", []),
        "documents": [
            {
                "document_id": r.document_id,
                "title": r.title,
                "language": r.language,
                "publisher": r.publisher,
                "kind": r.kind,
                "statements": list(r.statements),
            }
            for r in readouts
        ],
        "pairs": [{"a": pc.a.document_id, "b": pc.b.document_id} for pc in compared],
        "shared": shared,
        "only": only,
        "entities": {
            "by_document": {
                str(d): {k: sorted(getattr(e, k)) for k in ENTITY_KINDS if getattr(e, k)} for d, e in found.items()
            },
            "only": one_side,
        },
        "note": None if compared or len(readouts) < 2 else CROSS_LANGUAGE_NOTE,
    }


def side_by_side(alignment: Alignment) -> list[tuple[int | None, int | None, float | None]]:
    """Return rows (index in a, index in b, score) in reading order: each side's order kept, pairs on one row."""
    rows: list[tuple[int | None, int | None, float | None]] = []
    b_left = sorted(alignment.only_b)
    pair_of = {p.a: p for p in alignment.shared}
    last_a = max([*alignment.only_a, *pair_of], default=-1)
    for i in range(last_a + 1):
        pair = pair_of.get(i)
        if pair is None:
            if i in alignment.only_a:
                rows.append((i, None, None))
            continue
        while b_left and b_left[0] < pair.b:
            rows.append((None, b_left.pop(0), None))
        rows.append((i, pair.b, pair.score))
    rows += [(None, j, None) for j in b_left]
    return rows


def alignment_of(record: dict[str, Any], a: int, b: int) -> Alignment:
    """Return the alignment of documents a and b from a comparison record (for showing them side by side)."""
    from crawler.compare.statements import Pair

    docs = {d["document_id"]: d for d in record["documents"]}
    pairs = tuple(
        Pair(s["a_index"], s["b_index"], s["score"])
        for s in record["shared"]
        if s["a_document"] == a and s["b_document"] == b
    )
    used_a, used_b = {p.a for p in pairs}, {p.b for p in pairs}
    return Alignment(
        pairs,
        tuple(i for i in range(len(docs[a]["statements"])) if i not in used_a),
        tuple(j for j in range(len(docs[b]["statements"])) if j not in used_b),
    )
