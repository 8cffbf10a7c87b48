"""What one edited page costs a re-check (issue 23's race without the peer): unchanged and edited re-checks, A/B.

Usage: python benchmarks/recheck_edit.py [--pages 1000] [--runs 4] [--code DIR ...] [--this] [--json FILE]

Builds the race's mirror (threaded server, ETags), crawls it once, keeps that archive, then alternates: for each run
and each code tree (`--code`: a checkout whose readouts is imported instead of this one, e.g. `git worktree`'s or
`git archive main | tar -x -C DIR`'s; none: this checkout), a `crawl --recheck` of every page unchanged and one with
one page edited, each on a fresh copy of the kept archive (`--this`: this checkout too). Prints the wall and CPU
(user + system of the process tree) of each, the time its main thread waited for a core, and their medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import mirror  # noqa: E402
from measure import run  # noqa: E402
from pipeline import Mirror, checked, log, readouts  # noqa: E402

EDITED = "as the ministry corrected,"


def _copy_archive(kept: Path, db: Path) -> None:
    """Replace db (and its WARC folder) with a copy of the kept archive."""
    for path in (db, db.with_name(db.name + ".warc")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    shutil.copy2(kept, db)
    shutil.copytree(kept.with_name(kept.name + ".warc"), db.with_name(db.name + ".warc"))


def _edit(site: Mirror, page: mirror.Page) -> tuple[Path, str, os.stat_result]:
    """Edit one sentence of a page; return its path, its text and its stat before, to put it back."""
    path = site.root / f"site{page.site}" / page.path.lstrip("/")
    before, stat = path.read_text(encoding="utf-8"), path.stat()
    marker = f"On day {page.readout} of talks,"
    assert marker in before
    path.write_text(before.replace(marker, f"{marker} {EDITED}", 1), encoding="utf-8")
    return path, before, stat


def _restore(path: Path, text: str, stat: os.stat_result) -> None:
    """Put an edited page back as it was, with its mtime: the server's ETag (size and mtime) is the kept one again."""
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _env(code: Path | None) -> dict[str, str]:
    """The environment of a crawl importing readouts from `code` (None: this checkout, as installed)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _recheck(db: Path, site: Mirror, code: Path | None, name: str) -> dict[str, Any]:
    """One `crawl --recheck --json` on db; its wall, CPU, wait for a core and counts."""
    result = checked(run(readouts(db, site.sources, "crawl", "--recheck", "--json"), env=_env(code)), name)
    counts = json.loads(result.out.strip().splitlines()[-1])
    return {
        "seconds": result.seconds,
        "cpu": result.cpu_seconds,
        "wait": result.main_wait_seconds,
        "changed": counts["changed"],
        "rechecked": counts["rechecked"],
    }


def measure(pages: int, runs: int, codes: list[Path | None]) -> dict[str, Any]:
    """Crawl the mirror once, then alternate the unchanged and edited re-checks of each code tree."""
    with tempfile.TemporaryDirectory(prefix="recheck-edit-") as tmp:
        work = Path(tmp)
        os.chdir(work)  # `python -m crawler` puts its working directory first on sys.path: not this checkout's
        site = Mirror(work / "mirror", pages, "serve-threaded")
        kept, db = work / "kept.db", work / "run.db"
        try:
            log(f"first crawl of {pages} pages")
            checked(run(readouts(kept, site.sources, "crawl", "--json")), "first crawl")
            page = next(p for p in site.pages[len(site.pages) // 2 :] if p.readout % 5)  # on one site only
            out: dict[str, Any] = {"pages": pages, "runs": []}
            for n in range(runs):
                for i, code in enumerate(codes):
                    label = str(code) if code else "this checkout"
                    for edited in (False, True):
                        _copy_archive(kept, db)
                        name = f"{n}-{i}-{'edited' if edited else 'unchanged'}"
                        load = os.getloadavg()[0]
                        if edited:
                            path, text, stat = _edit(site, page)
                            try:
                                got = _recheck(db, site, code, name)
                            finally:
                                _restore(path, text, stat)
                        else:
                            got = _recheck(db, site, code, name)
                        row = {"code": label, "edited": edited, "load": load, **got}
                        assert got["changed"] == int(edited), row
                        what = "edited" if edited else "unchanged"
                        log(f"{label} {what}: {got['seconds']:.2f} s wall, {got['cpu']:.2f} s CPU (load {load:.1f})")
                        out["runs"].append(row)
        finally:
            site.stop()
    return out


def summary(out: dict[str, Any]) -> list[str]:
    """Median wall and CPU (min-max) of each code tree's unchanged and edited re-checks."""
    lines = []
    for code in dict.fromkeys(r["code"] for r in out["runs"]):
        for edited in (False, True):
            rows = [r for r in out["runs"] if r["code"] == code and r["edited"] == edited]
            wall, cpu, wait = ([r[k] for r in rows] for k in ("seconds", "cpu", "wait"))
            lines.append(
                f"{code}, {'one page edited' if edited else 'unchanged'} ({len(rows)} runs): "
                f"{statistics.median(wall):.2f} s wall ({min(wall):.2f}-{max(wall):.2f}), "
                f"{statistics.median(cpu):.2f} s CPU ({min(cpu):.2f}-{max(cpu):.2f}), "
                f"{statistics.median(wait):.2f} s waiting for a core; wall less that wait "
                f"{statistics.median(w - q for w, q in zip(wall, wait, strict=True)):.2f} s"
            )
    return lines


def main() -> None:
    """Parse the arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--code", type=Path, action="append", default=[], help="a code tree to import (repeatable)")
    parser.add_argument("--this", action="store_true", help="with --code, also measure this checkout")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    codes: list[Path | None] = [c.resolve() for c in args.code]
    if not codes or args.this:
        codes.append(None)
    started = time.time()
    out = measure(args.pages, args.runs, codes)
    out["minutes"] = (time.time() - started) / 60
    print("\n".join(summary(out)))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
