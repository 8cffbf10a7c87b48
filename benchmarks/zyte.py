"""Zyte article-extraction benchmark: readouts' extractor on 181 hand-checked pages, with the benchmark's metric.

Usage: python benchmarks/zyte.py [--plain] [--json] [--jobs N]
--plain measures trafilatura.extract() with its defaults instead, the baseline readouts must stay above.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DATA = Path(__file__).parent / "zyte-article-extraction"
sys.path.insert(0, str(Path(__file__).parent.parent))


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """Return the multiset of `size`-token shingles of `\\w+` tokens."""
    tokens = re.findall(r"\w+", text)
    return Counter(tuple(tokens[i : i + size]) for i in range(max(len(tokens) - size + 1, 1)) if tokens)


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    """Return one page's TP, FP, FN shingle counts normalised to sum to one."""
    t, p = shingles(truth), shingles(predicted)
    tp = sum((t & p).values())
    fp, fn = sum(p.values()) - tp, sum(t.values()) - tp
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (1.0, 0.0, 0.0)


def predict(args: tuple[Path, str, bool]) -> tuple[str, str]:
    """Extract one benchmark page (by dataset folder and key) with readouts, or with plain trafilatura."""
    data, key, plain = args
    body = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes())
    if plain:
        import trafilatura

        return key, trafilatura.extract(body.decode("utf-8", "replace")) or ""
    from crawler.extraction.extract import Extracted, extract

    result = extract(body, f"https://example.org/{key}.html", "text/html; charset=utf-8")
    return key, result.text if isinstance(result, Extracted) else ""


def measure(plain: bool = False, jobs: int = 2, data: Path = DATA) -> dict[str, float]:
    """Run a benchmark in the Zyte layout (Zyte's by default) and return precision, recall, F1, accuracy, pages/s."""
    truth = load_truth(data)
    started = time.perf_counter()
    predicted = predictions(plain, jobs, data, sorted(truth))
    return score(truth, predicted, time.perf_counter() - started)


def load_truth(data: Path) -> dict[str, str]:
    """Return a benchmark's ground-truth article body of each page, by key."""
    return {k: v["articleBody"] for k, v in json.loads((data / "ground-truth.json").read_text()).items()}


def predictions(plain: bool, jobs: int, data: Path, keys: list[str]) -> dict[str, str]:
    """Extract the text of the benchmark's pages on `jobs` processes, by key."""
    with ProcessPoolExecutor(jobs) as pool:
        return dict(pool.map(predict, [(data, key, plain) for key in keys], chunksize=8))


def score(truth: dict[str, str], predicted: dict[str, str], elapsed: float) -> dict[str, float]:
    """Return the benchmark's metric over all pages: precision, recall and F1 of averaged shingle counts."""
    counts = [page_counts(truth[k], predicted[k]) for k in truth]
    tp, fp, fn = (sum(c[i] for c in counts) / len(counts) for i in range(3))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    exact = sum(re.findall(r"\w+", truth[k]) == re.findall(r"\w+", predicted[k]) for k in truth) / len(truth)
    return {
        "pages": len(truth),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4),
        "accuracy": round(exact, 4),
        "pages_per_second": round(len(truth) / elapsed, 1),
    }


def main() -> None:
    """Print the benchmark's numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", action="store_true", help="measure plain trafilatura.extract() instead")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = measure(args.plain, args.jobs)
    if args.json:
        print(json.dumps(result))
    else:
        name = "plain trafilatura" if args.plain else "readouts"
        print(f"{name}: " + "  ".join(f"{k} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
