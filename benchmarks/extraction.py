"""Extraction quality on every public benchmark the project holds: readouts beside plain trafilatura, same run.

Usage: python benchmarks/extraction.py [--json] [--jobs N] [--worst N] [NAME…]

Each benchmark is a folder in the Zyte layout (html/<key>.html.gz, ground-truth.json) scored with the Zyte
benchmark's metric (benchmarks/zyte.py): 4-token shingles, per-page normalised counts, averaged over pages.
Plain trafilatura is `trafilatura.extract()` with its defaults. `--worst N` lists the N pages where readouts
trails plain trafilatura most (per-page F1), to see what the cleaning costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from zyte import load_truth, page_counts, predictions, score

HERE = Path(__file__).parent
BENCHMARKS = {
    "zyte": HERE / "zyte-article-extraction",
    "readability": HERE / "readability-test-pages",
    "wcxb-articles": HERE / "wcxb-articles",
}


def page_f1(truth: str, predicted: str) -> float:
    """Return one page's F1 from its normalised shingle counts."""
    tp, fp, fn = page_counts(truth, predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def compare(data: Path, jobs: int) -> tuple[dict[str, dict[str, float]], list[tuple[float, str]]]:
    """Score readouts and plain trafilatura on one benchmark; also each page's F1 loss of readouts against plain."""
    truth = load_truth(data)
    result, texts = {}, {}
    for name, plain in (("readouts", False), ("trafilatura", True)):
        started = time.perf_counter()
        texts[name] = predictions(plain, jobs, data, sorted(truth))
        result[name] = score(truth, texts[name], time.perf_counter() - started)
    losses = sorted(
        (page_f1(truth[k], texts["trafilatura"][k]) - page_f1(truth[k], texts["readouts"][k]), k) for k in truth
    )
    return result, losses[::-1]


def main() -> None:
    """Print one row per benchmark and extractor."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], help="benchmarks to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages where readouts trails most")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = {}
    print(f"{'benchmark':<15} {'extractor':<12} {'pages':>5} {'precision':>9} {'recall':>7} {'F1':>6}", file=sys.stderr)
    for name in args.names or list(BENCHMARKS):
        results[name], losses = compare(BENCHMARKS[name], args.jobs)
        for extractor, r in results[name].items():
            row = (
                f"{name:<15} {extractor:<12} {r['pages']:>5} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>6.4f}"
            )
            print(row, file=sys.stderr if args.json else sys.stdout)
        for loss, key in losses[: args.worst]:
            if loss > 0:
                print(f"    {key}: readouts F1 {loss:.3f} below plain", file=sys.stderr)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
