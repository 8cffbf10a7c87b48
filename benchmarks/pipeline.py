"""The pipeline benchmark (issue 7): every stage on one generated mirror, with the targets as ratios of one run.

Usage: python benchmarks/pipeline.py [--pages 2000] [--rss-pages 8000] [--scale 1000,10000,100000] [--million]
                                     [--peer-pages 1000] [--recheck-pages 1000] [--recheck-only] [--import-only]
                                     [--race-pages 1000] [--race-only] [--cdio-venv DIR] [--json FILE]

Prints a table and the same numbers as JSON. Takes about 9 minutes with the defaults on 2 cores; docs/benchmarks.md
holds the latest run and explains each target it misses.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import changedetection  # noqa: E402
import mirror  # noqa: E402
import scaling  # noqa: E402
from measure import cpu_seconds, percentile, run  # noqa: E402

from crawler.extraction.article import article_text  # noqa: E402
from crawler.extraction.extract import Extracted, extract  # noqa: E402

CONCURRENCY = 4  # requests in flight per site, in the benchmark's sources file
SERVERS = ("serve", "serve-threaded")  # mirror.py's Twisted static server, and a threaded one with ETags
TRAFILATURA_CONFIG = "[DEFAULT]\nSLEEP_TIME = 0\nSSRF_PROTECTION = off\nDOWNLOAD_TIMEOUT = 30\n"


def log(message: str) -> None:
    """Report progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Mirror:
    """A generated mirror served in its own process by a Twisted static server, or a threaded one with ETags."""

    def __init__(self, root: Path, pages: int, server: str = "serve") -> None:
        """Generate the sites and start the server (`serve`: Twisted; `serve-threaded`: the standard library's)."""
        self.root = root
        self.pages = mirror.build(root, pages)
        self.server = subprocess.Popen(
            [sys.executable, str(HERE / "mirror.py"), server, str(root)], stdout=subprocess.PIPE, text=True
        )
        assert self.server.stdout is not None
        self.ports: dict[str, int] = json.loads(self.server.stdout.readline())
        self.sources = root / "sources.toml"
        self.sources.write_text(mirror.sources_toml(self.ports, CONCURRENCY))

    def url(self, page: mirror.Page) -> str:
        """The URL of an article page."""
        host = mirror.HOSTS[page.site]
        return f"http://{host}:{self.ports[host]}{page.path}"

    def body(self, page: mirror.Page) -> bytes:
        """The bytes of an article page as served."""
        return (self.root / f"site{page.site}" / page.path.lstrip("/")).read_bytes()

    def cpu(self) -> float:
        """CPU seconds the server has used so far."""
        return cpu_seconds(self.server.pid)

    def stop(self) -> None:
        """Stop the server."""
        self.server.terminate()
        self.server.wait()


def readouts(db: Path, sources: Path, *args: str) -> list[str]:
    """The `readouts` command line on an archive and a sources file."""
    return [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), *args]


def checked(result: Any, what: str) -> Any:
    """Fail loudly when a measured command failed."""
    if result.code != 0:
        raise SystemExit(f"{what} failed ({result.code}):\n{result.err[-3000:]}\n{result.out[-3000:]}")
    return result


def _extract_one(job: tuple[bytes, str]) -> float:
    """Extract one page; return the milliseconds it took."""
    started = time.perf_counter()
    extract(job[0], job[1], "text/html; charset=utf-8", None)
    return (time.perf_counter() - started) * 1000


def extraction_only(site: Mirror) -> dict[str, float]:
    """The project's extraction over the mirror's pages, on one process and on all cores."""
    jobs = [(site.body(p), site.url(p)) for p in site.pages]
    started, cpu = time.perf_counter(), time.process_time()
    times = [_extract_one(job) for job in jobs]
    one = len(jobs) / (time.perf_counter() - started)
    cpu_ms = (time.process_time() - cpu) * 1000 / len(jobs)
    cores = os.cpu_count() or 1
    with Pool(cores) as pool:
        started = time.perf_counter()
        pool.map(_extract_one, jobs, chunksize=8)
        every = len(jobs) / (time.perf_counter() - started)
    extracted = [e for e in (extract(body, url, "text/html; charset=utf-8", None) for body, url in jobs[:500])]
    started, cpu = time.perf_counter(), time.process_time()
    for e in extracted:  # what the workers do after extraction: template lines off, hashes, MinHash, meeting
        if isinstance(e, Extracted):
            article_text(e, frozenset())
    cleaning_ms = (time.perf_counter() - started) * 1000 / len(extracted)
    cleaning_cpu_ms = (time.process_time() - cpu) * 1000 / len(extracted)
    return {
        "pages_per_s_1": one,
        "pages_per_s_all": every,
        "cores": cores,
        "ms_p50": percentile(times, 0.5),
        "ms_p95": percentile(times, 0.95),
        "cleaning_ms_mean": cleaning_ms,
        # CPU time in this one process: what the load of other processes changes far less than wall time
        "cpu_ms_per_page_1": cpu_ms,
        "cleaning_cpu_ms_mean": cleaning_cpu_ms,
    }


def crawl_stages(site: Mirror, work: Path) -> dict[str, Any]:
    """Fetch-only, the full crawl, the routine and the forced re-crawl, and re-extraction, on one mirror."""
    n = len(site.pages)
    out: dict[str, Any] = {"pages": n}
    log(f"fetch-only over {n} pages")
    cpu0 = site.cpu()
    fetched = checked(run([sys.executable, str(HERE / "fetch_only.py"), str(site.sources)]), "fetch-only")
    pages = json.loads(fetched.out.strip().splitlines()[-1])["pages"]
    out["fetch_only"] = {
        "pages": pages,
        "seconds": fetched.seconds,
        "pages_per_s": pages / fetched.seconds,
        "cpu_ms_per_page": fetched.cpu_seconds * 1000 / max(pages, 1),
    }
    out["server_cpu_share_fetch"] = (site.cpu() - cpu0) / fetched.seconds
    db = work / "bench.db"
    log("full crawl into a fresh archive")
    cpu0 = site.cpu()
    full = checked(run(readouts(db, site.sources, "crawl", "--json")), "crawl")
    summary = json.loads(full.out)
    out["full_crawl"] = {
        "seconds": full.seconds,
        "pages_per_s": summary["pages_fetched"] / full.seconds,
        "pages_fetched": summary["pages_fetched"],
        "new_documents": summary["new_documents"],
        "duplicates": summary["duplicates"],
        "failed": summary["failed"],
        "peak_rss_main_mb": full.peak_main_mb,
        "peak_rss_tree_mb": full.peak_tree_mb,
        "peak_pss_tree_mb": full.peak_pss_tree_mb,
        "cpu_ms_per_page": full.cpu_seconds * 1000 / max(summary["pages_fetched"], 1),
    }
    out["server_cpu_share_crawl"] = (site.cpu() - cpu0) / full.seconds
    log("routine re-crawl of the unchanged mirror")
    routine = checked(run(readouts(db, site.sources, "crawl", "--json")), "routine re-crawl")
    log("forced re-check of every page")
    recheck = checked(run(readouts(db, site.sources, "crawl", "--recheck", "--json")), "re-check")
    recheck_summary = json.loads(recheck.out)
    out["recrawl"] = {
        "routine_seconds": routine.seconds,
        "recheck_seconds": recheck.seconds,
        "rechecked": recheck_summary["rechecked"],
        "unchanged": recheck_summary["unchanged"],
    }
    log("re-extraction of the stored captures")
    again = checked(run(readouts(db, site.sources, "reextract", "--json")), "reextract")
    tally = json.loads(again.out)
    out["reextract"] = {
        "pages": tally["pages"],
        "seconds": again.seconds,
        "pages_per_s": tally["pages"] / again.seconds,
    }
    out["import"] = import_stage(work, site.sources)
    return out


def import_stage(work: Path, sources: Path) -> dict[str, Any]:
    """`readouts import` of the full crawl's own WARC files (beside `work/bench.db`) into a fresh archive."""
    log("import of the crawl's own WARC files into a fresh archive")
    warcs = sorted(str(p) for p in (work / "bench.db.warc").glob("*.warc.gz"))
    imported = checked(run(readouts(work / "imported.db", sources, "import", "--json", *warcs)), "import")
    result = json.loads(imported.out)
    stored = result["new_documents"] + result["duplicates"] + result["changed"] + result["unchanged"]
    return {
        "pages": result["matched"],
        "archived": stored,
        "new_pages": result["new_pages"],
        "failed": result["failed"],
        "recleaned": result.get("recleaned", 0),
        "seconds": imported.seconds,
        "pages_per_s": result["matched"] / imported.seconds,
        "cpu_ms_per_page": imported.cpu_seconds * 1000 / max(result["matched"], 1),  # the process tree's
    }


def import_only(pages: int) -> dict[str, Any]:
    """Only what the import target needs: extraction on all cores, a full crawl for its WARC files, their import."""
    with tempfile.TemporaryDirectory(prefix="readouts-bench-") as tmp:
        work = Path(tmp)
        log(f"generating a {pages}-page mirror")
        site = Mirror(work / "mirror", pages)
        try:
            log("extraction-only")
            extraction = extraction_only(site)
            log("full crawl into a fresh archive")
            checked(run(readouts(work / "bench.db", site.sources, "crawl", "--json")), "crawl")
        finally:
            site.stop()
        imported = import_stage(work, site.sources)
    rate = extraction_and_cleaning_rate(extraction)
    work_ms = extraction["cpu_ms_per_page_1"] + extraction["cleaning_cpu_ms_mean"]
    return {
        "extraction": extraction,
        "import": imported,
        "extraction_and_cleaning_pages_per_s": rate,
        "ratio": imported["pages_per_s"] / rate,
        # the same comparison in CPU a page, which the load moves far less: the import's whole process tree against
        # extraction plus cleaning in one process (on saturated cores the wall ratio tends to it, less serial phases)
        "extraction_and_cleaning_cpu_ms_per_page": work_ms,
        "cpu_ratio": work_ms / imported["cpu_ms_per_page"],
        "load_average": os.getloadavg(),
    }


def extraction_and_cleaning_rate(extraction: dict[str, float]) -> float:
    """Pages a second that extraction plus the cleaning after it reach on all cores."""
    per_page = 1 / extraction["pages_per_s_all"] + extraction["cleaning_ms_mean"] / 1000 / extraction["cores"]
    return 1 / per_page


def recheck_ratio(work: Path, pages: int, server: str) -> dict[str, Any]:
    """A first crawl, then a forced re-check of the unchanged pages, on a fresh mirror served by `server`."""
    site = Mirror(work / f"mirror-{server}", pages, server)
    try:
        db = work / f"recheck-{server}.db"
        log(f"{server}: first crawl of {pages} pages")
        first = checked(run(readouts(db, site.sources, "crawl", "--json")), "crawl")
        log(f"{server}: forced re-check")
        again = checked(run(readouts(db, site.sources, "crawl", "--recheck", "--json")), "re-check")
    finally:
        site.stop()
    summary = json.loads(again.out)
    return {
        "server": server,
        "pages": pages,
        "first_seconds": first.seconds,
        "first_cpu_seconds": first.cpu_seconds,
        "recheck_seconds": again.seconds,
        "recheck_cpu_seconds": again.cpu_seconds,
        "rechecked": summary["rechecked"],
        "unchanged": summary["unchanged"],
        "ratio": again.seconds / first.seconds,
    }


def recheck_lines(stages: list[dict[str, Any]]) -> list[str]:
    """Table rows of the re-check stage: wall and CPU time of the first crawl and of the re-check, per server."""
    return [
        f"| {s['server']}: first crawl, then `--recheck` of {s['pages']} unchanged pages | "
        f"{s['first_seconds']:.1f} s ({s['first_cpu_seconds']:.1f} s CPU), then {s['recheck_seconds']:.1f} s "
        f"({s['recheck_cpu_seconds']:.1f} s CPU; {s['unchanged']} unchanged of {s['rechecked']}): "
        f"ratio {s['ratio']:.3f} |"
        for s in stages
    ]


def edit_one(site: Mirror) -> str:
    """Edit one sentence of one article published on one site only; return its URL."""
    page = next(p for p in site.pages[len(site.pages) // 2 :] if p.readout % 5)
    path = site.root / f"site{page.site}" / page.path.lstrip("/")
    marker = f"On day {page.readout} of talks,"
    html = path.read_text(encoding="utf-8")
    assert marker in html
    path.write_text(html.replace(marker, f"{marker} as the ministry corrected,", 1), encoding="utf-8")
    return site.url(page)


def race(work: Path, pages: int, cdio_venv: Path | None) -> dict[str, Any]:
    """readouts and changedetection.io watching the same pages of one threaded server: first check, re-check of the
    unchanged pages, re-check with one page edited; wall and CPU of each tool, and the changes each reported."""
    exe = changedetection.ensure_venv(cdio_venv)
    site = Mirror(work / "mirror-race", pages, "serve-threaded")
    db = work / "race.db"
    out: dict[str, Any] = {"pages": pages, "cdio_version": changedetection.VERSION, "cdio_workers": 8}
    try:
        with changedetection.ChangeDetection(exe, work / "cdio-datastore", 5099) as peer_server:
            urls = [site.url(p) for p in site.pages]
            for name, round_of_peer in (
                ("first", lambda: peer_server.first_check(urls)),
                ("unchanged", peer_server.recheck),
                ("edited", peer_server.recheck),
            ):
                edited = edit_one(site) if name == "edited" else None
                log(f"race: {name} round, readouts")
                args = ("crawl", "--json") if name == "first" else ("crawl", "--recheck", "--json")
                ours = checked(run(readouts(db, site.sources, *args)), f"race {name}")
                found = _changed_urls(db)
                log(f"race: {name} round, changedetection.io")
                theirs = round_of_peer()
                out[name] = {
                    "edited": edited,
                    "readouts_seconds": ours.seconds,
                    "readouts_cpu_seconds": ours.cpu_seconds,
                    "readouts_wait_seconds": ours.main_wait_seconds,
                    "readouts_changed": sorted(found - out.get("_seen", set())),
                    "cdio_seconds": theirs.seconds,
                    "cdio_cpu_seconds": theirs.cpu_seconds,
                    "cdio_checked": theirs.checked,
                    "cdio_changed": sorted(theirs.changed) if name != "first" else [],
                }
                out["_seen"] = found
    finally:
        site.stop()
    del out["_seen"]
    for name in ("unchanged", "edited"):
        out[name]["cdio_over_readouts"] = out[name]["cdio_seconds"] / out[name]["readouts_seconds"]
    return out


def _changed_urls(db: Path) -> set[str]:
    """The URLs of every change event in a readouts archive."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select url from events where kind = 'changed'")}


def race_lines(r: dict[str, Any]) -> list[str]:
    """Table rows of the race: each round's wall and CPU per tool, and what each reported changed."""
    rows = []
    for name, what in (("first", "first check"), ("unchanged", "re-check, unchanged"), ("edited", "re-check, 1 edit")):
        x = r[name]
        found = (
            ""
            if name == "first"
            else (
                f"; changes found: readouts {len(x['readouts_changed'])}, changedetection.io {len(x['cdio_changed'])}"
            )
        )
        rows.append(
            f"| race, {r['pages']} pages, {what} | readouts {x['readouts_seconds']:.1f} s "
            f"({x['readouts_cpu_seconds']:.1f} s CPU, {x.get('readouts_wait_seconds', 0):.1f} s waiting for a core), "
            f"changedetection.io {x['cdio_seconds']:.1f} s "
            f"({x['cdio_cpu_seconds']:.1f} s CPU){found} |"
        )
    return rows


def race_targets(r: dict[str, Any]) -> list[tuple[str, float, str, float]]:
    """The race's targets: readouts 5 x faster per re-check, the one edit found by both, no false change."""
    edited = r["edited"]
    return [
        (
            "race: changedetection.io / readouts time, unchanged re-check",
            r["unchanged"]["cdio_over_readouts"],
            ">=",
            5.0,
        ),
        ("race: changedetection.io / readouts time, re-check with 1 edit", edited["cdio_over_readouts"], ">=", 5.0),
        (
            "race: readouts reports exactly the edit (1 = yes)",
            float(edited["readouts_changed"] == [edited["edited"]]),
            ">=",
            1.0,
        ),
        (
            "race: changedetection.io reports exactly the edit (1 = yes)",
            float(edited["cdio_changed"] == [edited["edited"]]),
            ">=",
            1.0,
        ),
        (
            "race: false changes on the unchanged re-check, both tools",
            float(len(r["unchanged"]["readouts_changed"]) + len(r["unchanged"]["cdio_changed"])),
            "<=",
            0.0,
        ),
    ]


def peer(site: Mirror, work: Path, pages: int) -> dict[str, float]:
    """trafilatura's own command line fetching and extracting the same URLs with --parallel (all cores)."""
    urls = work / "urls.txt"
    chosen = site.pages[:pages]
    urls.write_text("\n".join(site.url(p) for p in chosen) + "\n")
    config = work / "trafilatura.cfg"
    config.write_text(TRAFILATURA_CONFIG)
    output = work / "peer-out"
    cli = Path(sys.executable).with_name("trafilatura")
    cores = str(os.cpu_count() or 1)
    cmd = [str(cli), "-i", str(urls), "--parallel", cores, "-o", str(output), "--config-file", str(config)]
    log(f"peer: trafilatura --parallel {cores} over {len(chosen)} URLs")
    result = checked(run(cmd), "trafilatura")
    written = len(list(output.glob("*"))) if output.exists() else 0
    return {
        "pages": len(chosen),
        "written": written,
        "seconds": result.seconds,
        "pages_per_s": len(chosen) / result.seconds,
    }


def rss_at(pages: int, work: Path) -> dict[str, float]:
    """Peak RSS of a full crawl of a mirror of `pages` pages."""
    root = work / f"mirror-{pages}"
    log(f"generating a {pages}-page mirror for the memory measurement")
    site = Mirror(root, pages)
    try:
        log(f"full crawl of {pages} pages (memory)")
        result = checked(run(readouts(root / "rss.db", site.sources, "crawl", "--json")), "crawl")
    finally:
        site.stop()
    fetched = json.loads(result.out)["pages_fetched"]
    if fetched != len(site.pages):
        raise SystemExit(f"the memory crawl fetched {fetched} of {len(site.pages)} pages")
    return {
        "pages": pages,
        "pages_fetched": fetched,
        "peak_rss_main_mb": result.peak_main_mb,
        "peak_rss_tree_mb": result.peak_tree_mb,
        "peak_pss_tree_mb": result.peak_pss_tree_mb,
    }


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 7: the measured value, the bound, and whether it holds."""
    f = r["crawl"]["fetch_only"]["pages_per_s"]
    e = r["extraction"]["pages_per_s_1"]
    limit = min(f, 2 / (1 / f + 1 / e))
    full = r["crawl"]["full_crawl"]["pages_per_s"]
    first = r["crawl"]["full_crawl"]["seconds"]
    rows = [
        ("full pipeline / machine limit L", full / limit, ">=", 0.85),
        ("full pipeline / trafilatura CLI", full / r["peer"]["pages_per_s"], ">=", 3.0),
        ("routine re-crawl / first crawl (time)", r["crawl"]["recrawl"]["routine_seconds"] / first, "<=", 0.1),
        ("forced --recheck / first crawl (time)", r["crawl"]["recrawl"]["recheck_seconds"] / first, "<=", 0.5),
        (
            "re-extraction / all-core extraction",
            r["crawl"]["reextract"]["pages_per_s"] / r["extraction"]["pages_per_s_all"],
            ">=",
            0.85,
        ),
        (
            "import / all-core extraction and cleaning",
            r["crawl"]["import"]["pages_per_s"] / extraction_and_cleaning_rate(r["extraction"]),
            ">=",
            0.85,
        ),
        # PSS: summed RSS counts the pages forked workers share with the crawl once per process (see measure.pss)
        (
            "peak memory of the crawl, MB (PSS of the process tree)",
            r["crawl"]["full_crawl"]["peak_pss_tree_mb"],
            "<=",
            300.0,
        ),
    ]
    for stage in r.get("recheck", []):
        rows.append((f"forced --recheck / first crawl (time), {stage['server']}", stage["ratio"], "<=", 0.3))
    scale = r["scaling"]
    if len(scale) >= 2:
        rows.append(
            (
                "record cost at largest / at smallest size",
                scale[-1]["record_ms_mean"] / scale[0]["record_ms_mean"],
                "<=",
                1.5,
            )
        )
        rows.append(
            (
                f"record CPU ms/doc (archive write) at {scale[-1]['documents']:,}",
                scale[-1]["record_cpu_ms_mean"],
                "<=",
                2.0,
            )
        )
        rows.append((f"FTS p50 ms at {scale[-1]['documents']:,} documents", scale[-1]["fts_ms_p50"], "<=", 20.0))
        # plain Datasette as README offers it (with its settings); its defaults are measured, with no target
        for surface in ("short", "sqlite_utils", "serve", "serve_html", "datasette_readme"):
            rows.append(
                (
                    f"{surface} short-term search p50 ms at {scale[-1]['documents']:,}",
                    scale[-1][f"{surface}_ms_p50"],
                    "<=",
                    20.0,
                )
            )
    if r.get("race"):
        rows += race_targets(r["race"])
    if r.get("rss_large"):
        grow = r["rss_large"]["peak_pss_tree_mb"] / r["crawl"]["full_crawl"]["peak_pss_tree_mb"]
        rows.append((f"peak memory at {r['rss_large']['pages']} / at {r['crawl']['pages']} pages", grow, "<=", 1.2))
    out = []
    for name, value, op, bound in rows:
        ok = value >= bound if op == ">=" else value <= bound
        out.append({"target": name, "value": round(value, 3), "bound": f"{op} {bound}", "met": ok})
    r["machine_limit_pages_per_s"] = limit
    return out


def table(r: dict[str, Any]) -> str:
    """The results as a Markdown table (the same one docs/benchmarks.md holds)."""
    c = r["crawl"]
    lines = [
        "| measurement | value |",
        "|---|---|",
        f"| mirror | {c['pages']} article pages (~{r['mean_page_kb']:.0f} KB), 3 sites, 1/5 republished on all three |",
        f"| fetch-only (spider, no pipeline) | {c['fetch_only']['pages_per_s']:.1f} pages/s, {c['fetch_only']['cpu_ms_per_page']:.1f} ms CPU a page (server CPU {c['server_cpu_share_fetch']:.0%} of a core) |",
        f"| extraction-only, 1 process | {r['extraction']['pages_per_s_1']:.1f} pages/s (p50 {r['extraction']['ms_p50']:.1f} ms, p95 {r['extraction']['ms_p95']:.1f} ms) |",
        f"| extraction-only, {r['extraction']['cores']} processes | {r['extraction']['pages_per_s_all']:.1f} pages/s |",
        f"| cleaning after extraction (template, hashes, MinHash, meeting), 1 process | {r['extraction']['cleaning_ms_mean']:.1f} ms/page |",
        f"| machine limit L = min(F, 2/(1/F+1/E)) | {r['machine_limit_pages_per_s']:.1f} pages/s |",
        f"| full `readouts crawl` | {c['full_crawl']['pages_per_s']:.1f} pages/s ({c['full_crawl']['seconds']:.1f} s), {c['full_crawl']['cpu_ms_per_page']:.1f} ms CPU a page with its workers (server CPU {c['server_cpu_share_crawl']:.0%}) |",
        f"| peak memory of the crawl | RSS {c['full_crawl']['peak_rss_main_mb']:.0f} MB main process, {c['full_crawl']['peak_rss_tree_mb']:.0f} MB summed with workers; PSS of the tree {c['full_crawl']['peak_pss_tree_mb']:.0f} MB |",
        f"| routine re-crawl | {c['recrawl']['routine_seconds']:.1f} s |",
        f"| forced `--recheck` | {c['recrawl']['recheck_seconds']:.1f} s ({c['recrawl']['unchanged']} unchanged of {c['recrawl']['rechecked']}) |",
        f"| trafilatura CLI `--parallel` | {r['peer']['pages_per_s']:.1f} pages/s ({r['peer']['pages']} URLs) |",
        f"| `readouts reextract` | {c['reextract']['pages_per_s']:.1f} pages/s |",
        f"| `readouts import` of the crawl's WARC files | {c['import']['pages_per_s']:.1f} pages/s ({c['import']['pages']} pages) |",
    ]
    lines += recheck_lines(r.get("recheck", []))
    lines += race_lines(r["race"]) if r.get("race") else []
    for s in r["scaling"]:
        lines.append(
            f"| archive at {s['documents']:,} documents | record {s['record_ms_mean']:.2f} ms/doc wall with cleaning and MinHash; CPU: archive write {s['record_cpu_ms_mean']:.2f} ms, cleaning and MinHash {s['article_cpu_ms_mean']:.2f} ms; FTS p50 {s['fts_ms_p50']:.1f} ms, p95 {s['fts_ms_p95']:.1f} ms; "
            f"short terms p50 (p95): readouts search {s['short_ms_p50']:.1f} ({s['short_ms_p95']:.1f}) ms, sqlite-utils {s['sqlite_utils_ms_p50']:.1f} ({s['sqlite_utils_ms_p95']:.1f}) ms, serve {s['serve_ms_p50']:.1f} ({s['serve_ms_p95']:.1f}) ms, "
            f"its HTML page {s['serve_html_ms_p50']:.1f} ({s['serve_html_ms_p95']:.1f}) ms, plain Datasette {s['datasette_ms_p50']:.1f} ({s['datasette_ms_p95']:.1f}) ms, without suggested facets {s['datasette_no_suggest_ms_p50']:.1f} ({s['datasette_no_suggest_ms_p95']:.1f}) ms, "
            f"its HTML page with README's settings {s['datasette_readme_ms_p50']:.1f} ({s['datasette_readme_ms_p95']:.1f}) ms |"
        )
    if r.get("rss_large"):
        big = r["rss_large"]
        lines.append(
            f"| peak memory at {big['pages']} pages | RSS {big['peak_rss_main_mb']:.0f} MB main, {big['peak_rss_tree_mb']:.0f} MB summed with workers; PSS of the tree {big['peak_pss_tree_mb']:.0f} MB |"
        )
    lines += ["", "| target | measured | bound | met |", "|---|---|---|---|"]
    for t in r["targets"]:
        lines.append(f"| {t['target']} | {t['value']} | {t['bound']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines)


def compile_readouts(root: Path = HERE.parent) -> None:
    """Byte-compile readouts' own modules, as installing it does (pip compiles them).

    A checkout installed editable, run where PYTHONDONTWRITEBYTECODE is set (this sandbox), would compile them again
    in every crawl the benchmark times: ~0.06 s of CPU a start, which an installed readouts does not pay.
    """
    for package in ("crawler", "spiders", "storage"):
        compileall.compile_dir(str(root / package), quiet=1)
    compileall.compile_file(str(root / "scheduler.py"), quiet=1)


def main() -> None:
    """Run every stage and print the table and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="article pages in the mirror (default 2000)")
    parser.add_argument("--rss-pages", type=int, default=8000, help="a second, larger crawl for memory (0: skip)")
    parser.add_argument("--scale", default="1000,10000,100000", help="archive sizes for the scaling stage")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 documents to the scaling stage")
    parser.add_argument("--peer-pages", type=int, default=1000, help="URLs given to the trafilatura CLI")
    parser.add_argument("--recheck-pages", type=int, default=1000, help="pages of the re-check stage on each server")
    parser.add_argument("--recheck-only", action="store_true", help="run only the re-check stage, on both servers")
    parser.add_argument("--race-pages", type=int, default=1000, help="pages both monitors watch in the race (0: skip)")
    parser.add_argument("--race-only", action="store_true", help="run only the race with changedetection.io")
    parser.add_argument("--cdio-venv", type=Path, help="a venv with changedetection.io (default: one made in a cache)")
    parser.add_argument("--import-only", action="store_true", help="run only the import stage and its target")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    compile_readouts()
    if args.race_only:
        with tempfile.TemporaryDirectory(prefix="readouts-bench-") as tmp:
            result = race(Path(tmp), args.race_pages, args.cdio_venv)
        print("\n".join(race_lines(result)))
        for name, value, op, bound in race_targets(result):
            print(f"| {name} | {value:.3f} | {op} {bound} |")
        print(json.dumps(result, indent=1))
        return
    if args.import_only:
        found = import_only(args.pages)
        print(
            f"import {found['import']['pages_per_s']:.1f} pages/s, extraction and cleaning on all cores "
            f"{found['extraction_and_cleaning_pages_per_s']:.1f} pages/s: ratio {found['ratio']:.2f} (target >= 0.85); "
            f"CPU a page: import {found['import']['cpu_ms_per_page']:.1f} ms (process tree), extraction and cleaning "
            f"{found['extraction_and_cleaning_cpu_ms_per_page']:.1f} ms (one process): {found['cpu_ratio']:.2f}"
        )
        print(json.dumps(found, indent=1))
        return
    if args.recheck_only:
        with tempfile.TemporaryDirectory(prefix="readouts-bench-") as tmp:
            rechecks = [recheck_ratio(Path(tmp), args.recheck_pages, server) for server in SERVERS]
        print("\n".join(recheck_lines(rechecks)))
        print(json.dumps(rechecks, indent=1))
        return
    sizes = [int(s) for s in args.scale.split(",") if s] + ([1_000_000] if args.million else [])
    with tempfile.TemporaryDirectory(prefix="readouts-bench-") as tmp:
        work = Path(tmp)
        log(f"generating a {args.pages}-page mirror")
        site = Mirror(work / "mirror", args.pages)
        results: dict[str, Any] = {
            "machine": {
                "cpus": os.cpu_count(),
                "cpu_model": _cpu_model(),
                "python": platform.python_version(),
                "date": time.strftime("%Y-%m-%d"),
            },
            "mean_page_kb": sum(len(site.body(p)) for p in site.pages) / len(site.pages) / 1024,
        }
        try:
            log("extraction-only")
            results["extraction"] = extraction_only(site)
            results["crawl"] = crawl_stages(site, work)
            results["peer"] = peer(site, work, min(args.peer_pages, len(site.pages)))
        finally:
            site.stop()
        results["recheck"] = [recheck_ratio(work, args.recheck_pages, server) for server in SERVERS]
        results["race"] = race(work, args.race_pages, args.cdio_venv) if args.race_pages else None
        results["rss_large"] = rss_at(args.rss_pages, work) if args.rss_pages else None
        results["scaling"] = scaling.measure(work / "scaling.db", sizes, progress=log) if sizes else []
    results["targets"] = targets(results)
    print(table(results))
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _cpu_model() -> str:
    """The CPU model named in /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
