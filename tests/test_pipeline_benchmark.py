"""The pipeline benchmark runs end to end at a tiny size and reports every measurement (numbers, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "pipeline.py"
# the benchmark's own default place for changedetection.io's venv (benchmarks/changedetection.py)
CACHE_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "readouts-bench" / "cdio-0.60.10"


@pytest.mark.slow
@pytest.mark.timeout(900)  # every stage, and two servers' re-check stages, on a shared 2-core machine
def test_pipeline_benchmark_reports_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [
        "--pages",
        "20",
        "--rss-pages",
        "30",
        "--race-pages",
        "0",  # the race has its own test below (it needs changedetection.io's own venv)
        "--scale",
        "10,20",
        "--peer-pages",
        "5",
        "--recheck-pages",
        "10",
        "--json",
        str(out),
    ]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=subprocess_env(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    crawl = result["crawl"]
    for value in (
        crawl["fetch_only"]["pages_per_s"],
        crawl["full_crawl"]["pages_per_s"],
        crawl["full_crawl"]["peak_rss_tree_mb"],
        crawl["full_crawl"]["peak_pss_tree_mb"],
        crawl["full_crawl"]["cpu_ms_per_page"],
        crawl["fetch_only"]["cpu_ms_per_page"],
        result["extraction"]["cleaning_ms_mean"],
        crawl["recrawl"]["routine_seconds"],
        crawl["recrawl"]["recheck_seconds"],
        crawl["reextract"]["pages_per_s"],
        crawl["import"]["pages_per_s"],
        crawl["import"]["cpu_ms_per_page"],
        result["extraction"]["cpu_ms_per_page_1"],
        result["extraction"]["cleaning_cpu_ms_mean"],
        result["extraction"]["pages_per_s_1"],
        result["extraction"]["pages_per_s_all"],
        result["peer"]["pages_per_s"],
        result["rss_large"]["peak_rss_tree_mb"],
        result["rss_large"]["peak_pss_tree_mb"],
    ):
        assert value > 0
    assert crawl["full_crawl"]["pages_fetched"] == crawl["fetch_only"]["pages"] == 20
    assert crawl["full_crawl"]["failed"] == 0 and crawl["recrawl"]["unchanged"] == crawl["recrawl"]["rechecked"]
    assert [s["documents"] for s in result["scaling"]] == [10 + 200, 20 + 400]
    # every capture of the crawl's WARC files (re-checks answered 200 too) archived; each page once
    assert crawl["import"]["pages"] == crawl["import"]["archived"] >= 20 and crawl["import"]["failed"] == 0
    assert crawl["import"]["new_pages"] == 20
    # the re-check stage on both servers: every page re-checked and found unchanged
    assert [(s["server"], s["rechecked"], s["unchanged"]) for s in result["recheck"]] == [
        ("serve", 10, 10),
        ("serve-threaded", 10, 10),
    ]
    assert all(s["first_cpu_seconds"] > 0 and s["recheck_cpu_seconds"] > 0 for s in result["recheck"])
    # 7 for every run, one per re-check server, 8 for the scaling sizes (record cost and record CPU, FTS, five search
    # surfaces), 1 for memory at the larger RSS run
    names = [t["target"] for t in result["targets"]]
    assert all(s["record_cpu_ms_mean"] > 0 and s["article_cpu_ms_mean"] > 0 for s in result["scaling"])
    assert len(names) == 7 + 2 + 8 + 1 and "| target |" in done.stdout, names
    assert [n for n in names if n.startswith("forced --recheck / first crawl (time), ")] == [
        "forced --recheck / first crawl (time), serve",
        "forced --recheck / first crawl (time), serve-threaded",
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_race_with_changedetection_io(tmp_path: Path) -> None:
    venv = Path(os.environ.get("READOUTS_CDIO_VENV", str(CACHE_VENV)))
    if not (venv / "bin" / "changedetection.io").exists():
        pytest.skip(f"changedetection.io is not installed in its own venv ({venv}; READOUTS_CDIO_VENV names another)")
    args = ["--race-only", "--race-pages", "25", "--cdio-venv", str(venv)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=subprocess_env(), capture_output=True, text=True, timeout=540
    )
    assert done.returncode == 0, done.stderr[-3000:]
    race = json.loads(done.stdout[done.stdout.index("\n{") :])
    edited = race["edited"]["edited"]
    assert race["first"]["cdio_checked"] == race["unchanged"]["cdio_checked"] == 25
    assert race["unchanged"]["readouts_changed"] == race["unchanged"]["cdio_changed"] == []
    assert race["edited"]["readouts_changed"] == race["edited"]["cdio_changed"] == [edited]
    for name in ("first", "unchanged", "edited"):
        assert race[name]["readouts_seconds"] > 0 and race[name]["cdio_cpu_seconds"] > 0
        assert 0 <= race[name]["readouts_wait_seconds"] < race[name]["readouts_seconds"]


def test_the_benchmark_times_readouts_with_its_bytecode_as_an_installed_readouts_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`compile_readouts` leaves a current .pyc beside every module of the packages it is given."""
    import importlib.util
    import shutil

    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    from pipeline import compile_readouts

    root = tmp_path / "tree"
    for package in ("crawler", "spiders", "storage"):
        shutil.copytree(SCRIPT.parent.parent / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SCRIPT.parent.parent / "scheduler.py", root / "scheduler.py")
    compile_readouts(root)
    sources = [*root.rglob("*.py")]
    assert len(sources) > 50
    assert all(Path(importlib.util.cache_from_source(str(p))).is_file() for p in sources)
