"""Statement alignment measured on real readout pairs labelled by hand (benchmarks/compare/pairs.json).

Usage: python benchmarks/compare.py [--json] [--threshold N]
Prints precision and recall of shared statement pairs, and of one-sided statements, over every labelled pair.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT))

from crawler.compare.statements import THRESHOLD, align, statements  # noqa: E402
from crawler.extraction.extract import Extracted, extract  # noqa: E402
from tests.fixtureweb.seeds import all_seeds  # noqa: E402

LABELS = Path(__file__).parent / "compare" / "pairs.json"
KREMLIN = ROOT / "tests" / "data" / "real" / "kremlin_en_2020"


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one measure."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        """Sum two counts."""
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    def precision(self) -> float:
        """TP / (TP + FP)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    def recall(self) -> float:
        """TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def text_of(side: dict[str, str]) -> str:
    """Return the readout text a label side names: a seed's body, or a Kremlin page's extracted text."""
    if "seed" in side:
        return "\n".join(next(s for s in all_seeds() if s.id == side["seed"]).body)
    number = side["kremlin"]
    result = extract((KREMLIN / f"{number}.html").read_bytes(), f"http://en.kremlin.ru/events/president/news/{number}")
    assert isinstance(result, Extracted)
    return "\n".join(result.lines)


def index_of(found: list[str], start: str) -> int:
    """Return the index of the statement that starts with a label's text (a label that matches none is an error)."""
    matches = [i for i, s in enumerate(found) if s.startswith(start)]
    if len(matches) != 1:
        raise SystemExit(f"label {start!r} matches {len(matches)} statements")
    return matches[0]


def score_pair(label: dict, threshold: float) -> tuple[Counts, Counts]:
    """Return the counts of shared pairs and of one-sided statements for one labelled pair."""
    a, b = statements(text_of(label["a"])), statements(text_of(label["b"]))
    gold = {(index_of(a, x), index_of(b, y)) for x, y in label["shared"]}
    alignment = align(a, b, threshold)
    predicted = {(p.a, p.b) for p in alignment.shared}
    shared = Counts(len(predicted & gold), len(predicted - gold), len(gold - predicted))
    gold_only = {("a", i) for i in range(len(a)) if all(i != g[0] for g in gold)}
    gold_only |= {("b", j) for j in range(len(b)) if all(j != g[1] for g in gold)}
    predicted_only = {("a", i) for i in alignment.only_a} | {("b", j) for j in alignment.only_b}
    only = Counts(len(predicted_only & gold_only), len(predicted_only - gold_only), len(gold_only - predicted_only))
    return shared, only


def measure(threshold: float = THRESHOLD) -> dict[str, float | int]:
    """Return precision and recall of shared pairs and one-sided statements over every labelled pair."""
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["pairs"]
    shared, only = Counts(), Counts()
    for label in labels:
        s, o = score_pair(label, threshold)
        shared, only = shared + s, only + o
    return {
        "pairs": len(labels),
        "threshold": threshold,
        "shared_gold": shared.tp + shared.fn,
        "shared_precision": round(shared.precision(), 3),
        "shared_recall": round(shared.recall(), 3),
        "one_sided_gold": only.tp + only.fn,
        "one_sided_precision": round(only.precision(), 3),
        "one_sided_recall": round(only.recall(), 3),
    }


def main() -> None:
    """Print the measures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="the aligner's score threshold")
    args = parser.parse_args()
    result = measure(args.threshold)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['pairs']} labelled readout pairs, threshold {result['threshold']}")
    print(
        f"shared statements ({result['shared_gold']} labelled pairs): precision {result['shared_precision']:.3f}, "
        f"recall {result['shared_recall']:.3f}"
    )
    print(
        f"one-sided statements ({result['one_sided_gold']} labelled): precision "
        f"{result['one_sided_precision']:.3f}, recall {result['one_sided_recall']:.3f}"
    )


if __name__ == "__main__":
    main()
