"""Extraction quality on the wider web: the Zyte benchmark's 181 pages must not get worse than plain trafilatura."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.once import built_once

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "zyte.py"
# plain trafilatura's answers, kept between runs: they depend only on these packages' versions and the pages
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "readouts-bench"
PLAIN_DEPENDS_ON = ("trafilatura", "lxml", "justext", "htmldate", "courlan", "charset-normalizer")


def load_benchmark():  # type: ignore[no-untyped-def]
    """Import benchmarks/zyte.py as a module."""
    spec = importlib.util.spec_from_file_location("zyte_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["zyte_benchmark"] = module  # the worker pool pickles its functions by module name
    spec.loader.exec_module(module)
    return module


def plain_key(zyte: ModuleType, data: Path) -> str:
    """What plain trafilatura's answers on a benchmark depend on: its packages' versions, the call, every page."""
    key = hashlib.sha256(inspect.getsource(zyte.predict).encode())
    for package in PLAIN_DEPENDS_ON:
        key.update(f"{package} {importlib.metadata.version(package)}\n".encode())
    for page in sorted((data / "html").glob("*.html.gz")):
        key.update(page.name.encode() + page.read_bytes())
    return key.hexdigest()[:16]


def plain_measure(zyte: ModuleType, data: Path) -> dict[str, float]:
    """Plain trafilatura's score on a benchmark, its extraction run once per key (tests/once.py: once per machine)."""
    truth = zyte.load_truth(data)

    def build(target: Path) -> None:
        predicted = zyte.predictions(True, 2, data, sorted(truth))
        target.with_suffix(".part").write_text(json.dumps(predicted))
        target.with_suffix(".part").replace(target)

    cached = built_once(CACHE / f"plain-{data.name}-{plain_key(zyte, data)}.json", build)
    started = time.perf_counter()
    return zyte.score(truth, json.loads(cached.read_text()), time.perf_counter() - started)


def test_plain_cache_key_follows_the_pages_and_the_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zyte = load_benchmark()
    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "a.html.gz").write_bytes(b"one")
    first = plain_key(zyte, tmp_path)
    assert plain_key(zyte, tmp_path) == first
    (tmp_path / "html" / "a.html.gz").write_bytes(b"two")
    second = plain_key(zyte, tmp_path)
    assert second != first
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda p: "0" if p == "trafilatura" else real(p))
    assert plain_key(zyte, tmp_path) != second


def test_metric_counts_shingles_like_the_benchmark() -> None:
    zyte = load_benchmark()
    assert zyte.page_counts("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    tp, fp, fn = zyte.page_counts("a b c d e", "a b c d x")
    assert (tp, fp, fn) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.mark.slow
@pytest.mark.timeout(300)  # two extractions of 181 pages: 78 s measured at a load average of 15
def test_readouts_extraction_beats_plain_trafilatura_on_zyte_benchmark() -> None:
    zyte = load_benchmark()
    ours, plain = zyte.measure(plain=False), plain_measure(zyte, zyte.DATA)
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
    ours, plain = zyte.measure(plain=False, data=data), plain_measure(zyte, data)
    print(f"{name}: readouts {ours}\nplain trafilatura {plain}")
    assert ours["f1"] >= plain["f1"]
