"""Extraction quality on the wider web: the Zyte benchmark's 181 pages must not get worse than plain trafilatura."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "zyte.py"


def load_benchmark():  # type: ignore[no-untyped-def]
    """Import benchmarks/zyte.py as a module."""
    spec = importlib.util.spec_from_file_location("zyte_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["zyte_benchmark"] = module  # the worker pool pickles its functions by module name
    spec.loader.exec_module(module)
    return module


def test_metric_counts_shingles_like_the_benchmark() -> None:
    zyte = load_benchmark()
    assert zyte.page_counts("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    tp, fp, fn = zyte.page_counts("a b c d e", "a b c d x")
    assert (tp, fp, fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.mark.slow
@pytest.mark.timeout(300)  # two extractions of 181 pages: 78 s measured at a load average of 15
def test_readouts_extraction_beats_plain_trafilatura_on_zyte_benchmark() -> None:
    zyte = load_benchmark()
    ours, plain = zyte.measure(plain=False), zyte.measure(plain=True)
    print(f"readouts {ours}\nplain trafilatura {plain}")
    assert ours["f1"] > plain["f1"]
    assert ours["f1"] >= 0.970  # the best published; measured 0.9720 (P 0.9710, R 0.9731); plain trafilatura 0.953


@pytest.mark.slow
@pytest.mark.timeout(300)  # two extractions of 130 pages: 46 s idle, 121-124 s measured at a load average of 15
@pytest.mark.parametrize("name", ["wcxb-articles", "readability"])  # measured 0.9527 (plain 0.9417), 0.9341 (0.9313)
def test_readouts_extraction_is_not_below_plain_trafilatura_on_other_benchmarks(name: str) -> None:
    zyte = load_benchmark()
    data = (
        Path(__file__).parent.parent
        / "benchmarks"
        / {"wcxb-articles": "wcxb-articles", "readability": "readability-test-pages"}[name]
    )
    ours, plain = zyte.measure(plain=False, data=data), zyte.measure(plain=True, data=data)
    print(f"{name}: readouts {ours}\nplain trafilatura {plain}")
    assert ours["f1"] >= plain["f1"]
