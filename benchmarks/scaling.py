"""Archive scaling: the cost of recording one page, and FTS search latency, with 1k, 10k, 100k documents archived."""

from __future__ import annotations

import hashlib
import os
import random
import time
from datetime import date, timedelta
from multiprocessing import Pool
from pathlib import Path
from typing import Any
from urllib.parse import quote

from measure import percentile

from crawler.extraction.article import article_text
from crawler.extraction.extract import Extracted
from storage import query
from storage.archive import CRAWL_WORD_INDEX_EVERY, Archive, ArticleText, PageRecord

EN = [
    "talks",
    "minister",
    "president",
    "cooperation",
    "bilateral",
    "relations",
    "trade",
    "energy",
    "security",
    "partnership",
    "strategic",
    "summit",
    "dialogue",
    "investment",
    "agriculture",
    "culture",
    "development",
    "stability",
    "multilateral",
    "region",
    "visit",
    "agreement",
]
ZH = [
    "会谈",
    "合作",
    "发展",
    "关系",
    "战略",
    "伙伴",
    "总统",
    "外长",
    "双边",
    "贸易",
    "能源",
    "安全",
    "和平",
    "友好",
    "共同",
    "推动",
    "加强",
    "人民",
    "国际",
    "地区",
]
RU = [
    "переговоры",
    "сотрудничество",
    "развитие",
    "отношения",
    "стратегический",
    "партнёрство",
    "президент",
    "министр",
    "торговля",
]
VOCABULARY = [
    f"{a}{b}{c}" for a in ("ka", "lo", "mi", "ne", "su", "ta", "ve", "zo") for b in "aeiou" for c in range(250)
]
QUERIES = ["talks", "strategic partnership", "lomi17 talks", "sue42", "战略伙伴", "переговоры", "taa123 kae9"]
# short terms the trigram index cannot match: a word in nearly every document, rare ones, one with a long word
SHORT_QUERIES = ["会谈", "普京", "Xi", "Xi talks", "普京 战略伙伴"]
TIMED = 200  # recordings timed at each size
SEARCHES = 60  # searches timed at each size
# the settings README gives plain Datasette (`datasette readouts.db --setting ...`): no suggested facets (each a query
# over every match), and serve's page of 20 rows, 300-character previews of texts and queries in the event loop
PLAIN_SETTINGS = {"suggest_facets": False, "default_page_size": 20, "truncate_cells_html": 300, "num_sql_threads": 0}
BUILD_BATCH = 1000  # synthetic documents per transaction while building up to a size


def extracted(n: int) -> Extracted:
    """Readout n as extraction gives it: ~750 words of common and rare words, a Chinese and a Russian line."""
    rng = random.Random(n)
    lines = [
        " ".join(rng.choice(EN) if rng.random() < 0.3 else rng.choice(VOCABULARY) for _ in range(70)) + f" {n}-{i}."
        for i in range(10)
    ]
    lines.append("".join(rng.choice(ZH) for _ in range(30)) + ("普京" if n % 50 == 25 else "") + f"（{n}）")
    lines.append(" ".join(rng.choice(RU) for _ in range(30)) + f" ({n}).")
    return Extracted(title=f"Readout {n}: talks" + (" with Xi" if n % 50 == 0 else ""), lines=tuple(lines))


def synthetic(n: int) -> ArticleText:
    """Readout n as the archive receives it: cleaned, hashed and MinHashed."""
    article = article_text(extracted(n), frozenset())
    assert article is not None
    return article


def page(n: int, article: ArticleText) -> PageRecord:
    """The page record of synthetic readout n."""
    return PageRecord(url=f"http://127.0.0.2/a/{n}.html", source="bench", host="127.0.0.2", status=200, article=article)


def _grow(archive: Archive, start: int, stop: int, workers: Pool) -> None:
    """Add documents start..stop-1 in batches (the fast path: one transaction per batch, MinHash on all cores)."""
    for first in range(start, stop, BUILD_BATCH):
        numbers = range(first, min(stop, first + BUILD_BATCH))
        articles = workers.map(synthetic, numbers, chunksize=50)
        with archive._write() as db:
            for n, article in zip(numbers, articles, strict=True):
                archive._record(db, page(n, article))


def _timed(search: Any, queries: list[str]) -> tuple[float, float, float]:
    """Run SEARCHES searches cycling through the queries; return the p50 and p95 latency and the p50 CPU in ms.

    CPU time (of this process, every thread) is what a search costs on an idle machine; on a shared one the
    latency also counts the time other processes held the cores.
    """
    latencies, cpu = [], []
    for i in range(SEARCHES):
        started, started_cpu = time.perf_counter(), time.process_time()
        search(queries[i % len(queries)])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return percentile(latencies, 0.5), percentile(latencies, 0.95), percentile(cpu, 0.5)


def surfaces(db_path: Path, archive: Archive) -> dict[str, float]:
    """Short-term search latency on each surface: readouts search, sqlite-utils search, `readouts serve` (its JSON
    and its HTML page) and plain Datasette (`datasette FILE`: the documents table, no readouts plugin)."""
    import asyncio

    from datasette.app import Datasette

    from crawler.web.serve import build

    served = build(str(db_path))
    asyncio.run(served.invoke_startup())
    statuses: list[int] = []

    def get(ds: Datasette, path: str) -> None:
        """One page of results (a query over its time limit answers 400, counted as not 200)."""
        statuses.append(asyncio.run(ds.client.get(f"/{db_path.stem}/{path}")).status_code)

    out: dict[str, float] = {}
    for name, search in (
        ("short", lambda q: query.search(archive.db, q, limit=20)),
        ("sqlite_utils", lambda q: list(archive.db["documents"].search(q, limit=20, columns=["id", "title"]))),
        ("serve", lambda q: get(served, f"readouts.json?_search={quote(q)}&_size=20")),
        ("serve_html", lambda q: get(served, f"readouts?_search={quote(q)}")),  # as the search box gives it
    ):
        out[f"{name}_ms_p50"], out[f"{name}_ms_p95"], out[f"{name}_cpu_ms_p50"] = _timed(search, SHORT_QUERIES)
    out["serve_not_200"] = sum(status != 200 for status in statuses)
    out.update(_plain_datasette(db_path, get))
    out["not_200"] = sum(status != 200 for status in statuses)
    return out


def _plain_datasette(db_path: Path, get: Any) -> dict[str, float]:
    """Short-term search latency of `datasette FILE` (the documents table's detected FTS table, its default order),
    as JSON with and without its suggested facets, and the HTML search page with the settings README gives it."""
    import asyncio

    from datasette.app import Datasette
    from datasette.plugins import pm

    from crawler.web import plugin

    # readouts' error handler stays: Datasette 0.65's own, blocked once serve is built, fails with rich 14 (errors.py)
    pm.unregister(plugin)
    out = {}
    try:
        for name, settings, page in (
            ("datasette", None, "documents.json?_size=20&"),
            ("datasette_no_suggest", {"suggest_facets": False}, "documents.json?_size=20&"),
            ("datasette_readme", PLAIN_SETTINGS, "documents?"),  # the search page README's command gives
        ):
            plain = Datasette(files=[str(db_path)], settings=settings)
            asyncio.run(plain.invoke_startup())
            search = lambda q, ds=plain, page=page: get(ds, f"{page}_search={quote(q)}")  # noqa: E731
            out[f"{name}_ms_p50"], out[f"{name}_ms_p95"], out[f"{name}_cpu_ms_p50"] = _timed(search, SHORT_QUERIES)
    finally:
        pm.register(plugin, name="readouts")
    return out


def measure(db_path: Path, sizes: list[int], progress: Any = print) -> list[dict[str, float]]:
    """Return, for each size, the per-document recording cost (ms) and FTS latency p50/p95 (ms)."""
    archive = Archive(db_path, word_index_every=CRAWL_WORD_INDEX_EVERY)  # as a crawl writes
    results = []
    archived = timed = 0
    with Pool(os.cpu_count() or 1) as workers:
        for size in sizes:
            progress(f"archive scaling: building to {size:,} documents")
            _grow(archive, archived, size, workers)
            archive.index_words()  # the batches written outside record() are queued for the word index
            archived = size
            costs, article_cpu, record_cpu = [], [], []
            for n in range(10_000_000 + size, 10_000_000 + size + TIMED):  # the real per-page path, timed
                extraction = extracted(n)
                started, cpu = time.perf_counter(), time.process_time()
                article = article_text(extraction, frozenset())  # cleaning, hash and MinHash (a crawl's workers)
                assert article is not None
                written = time.process_time()
                archive.record(page(n, article))  # near-duplicate query, insert, both FTS indexes, one transaction
                record_cpu.append((time.process_time() - written) * 1000)
                article_cpu.append((written - cpu) * 1000)
                costs.append((time.perf_counter() - started) * 1000)
            timed += TIMED
            latencies = []
            for i in range(SEARCHES):
                started = time.perf_counter()
                query.search(archive.db, QUERIES[i % len(QUERIES)], limit=20)
                latencies.append((time.perf_counter() - started) * 1000)
            results.append(
                {
                    "documents": size + timed,
                    "record_ms_mean": sum(costs) / len(costs),
                    "record_ms_p50": percentile(costs, 0.5),
                    # CPU of the archive write alone (the crawl's main process), and of what precedes it in workers
                    "record_cpu_ms_mean": sum(record_cpu) / len(record_cpu),
                    "article_cpu_ms_mean": sum(article_cpu) / len(article_cpu),
                    "fts_ms_p50": percentile(latencies, 0.5),
                    "fts_ms_p95": percentile(latencies, 0.95),
                    **surfaces(db_path, archive),
                }
            )
    archive.close()
    return results


def measure_record(db_path: Path, count: int = TIMED, profile: Path | None = None) -> dict[str, float]:
    """Return the CPU of `Archive.record` alone (ms per document) for `count` new documents added to an existing
    archive as a crawl writes them (search indexes in batches), closing (the last batch) included.

    With `profile`, the records run under cProfile (slower) and its stats are written there.
    """
    import cProfile

    archive = Archive(db_path, word_index_every=CRAWL_WORD_INDEX_EVERY)
    size = archive.db["documents"].count
    articles = [article_text(extracted(n), frozenset()) for n in range(20_000_000 + size, 20_000_000 + size + count)]
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not wall time: a shared machine
    started = time.process_time()
    if profiler:
        profiler.enable()
    for n, article in enumerate(articles):
        assert article is not None
        archive.record(page(20_000_000 + size + n, article))
    archive.close()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return {"documents": size + count, "record_cpu_ms_mean": (time.process_time() - started) * 1000 / count}


def build(db_path: Path, size: int, progress: Any = print) -> dict[str, float]:
    """Grow the archive at `db_path` to `size` documents through the record path (rows, LSH bands, both indexes)."""
    archive = Archive(db_path, word_index_every=CRAWL_WORD_INDEX_EVERY)
    archived = archive.db["documents"].count
    with Pool(os.cpu_count() or 1) as workers:
        for first in range(archived, size, BUILD_BATCH * 10):
            progress(f"building: {first:,} of {size:,} documents")
            _grow(archive, first, min(size, first + BUILD_BATCH * 10), workers)
            archive.index_words()
    archive.close()
    return {"documents": max(archived, size)}


def published(n: int) -> str:
    """Readout n's publication date: spread over twelve years, in no relation to the order it was archived in."""
    return (date(2014, 1, 1) + timedelta(days=n * 7919 % 4383)).isoformat()


def _insert_plain(archive: Archive, start: int, stop: int) -> None:
    """Add documents start..stop-1 as rows only (page, document, copy; the FTS triggers run, MinHash does not)."""
    for first in range(start, stop, BUILD_BATCH * 5):
        with archive._write() as db:
            for n in range(first, min(stop, first + BUILD_BATCH * 5)):
                ex = extracted(n)
                text = "\n".join(ex.lines)
                digest = hashlib.sha256(text.encode()).hexdigest()
                url = f"http://127.0.0.2/a/{n}.html"
                doc = db.execute(
                    "insert into documents (content_hash, title, published, text, first_seen) "
                    "values (?, ?, ?, ?, '2026-01-01')",
                    [digest, ex.title, published(n), text],
                ).lastrowid
                pid = db.execute(
                    "insert into pages (url, source, host, first_seen, last_checked, content_hash, document_id) "
                    "values (?, 'bench', '127.0.0.2', '2026-01-01', '2026-01-01', ?, ?)",
                    [url, digest, doc],
                ).lastrowid
                db.execute(
                    "insert into copies (document_id, page_id, url, source, first_seen) values (?, ?, ?, 'bench', '2026-01-01')",
                    [doc, pid, url],
                )


def measure_search(db_path: Path, sizes: list[int], progress: Any = print) -> list[dict[str, float]]:
    """Search latency only, on archives built by plain inserts (fast on a busy machine): FTS and every surface."""
    archive = Archive(db_path)
    results, archived = [], archive.db["documents"].count  # an existing archive of this benchmark grows from its size
    for size in sizes:
        progress(f"search scaling: inserting up to {size:,} documents")
        _insert_plain(archive, archived, size)
        archived = max(archived, size)
        p50, p95, cpu = _timed(lambda q: query.search(archive.db, q, limit=20), QUERIES)
        fts = {"fts_ms_p50": p50, "fts_ms_p95": p95, "fts_cpu_ms_p50": cpu}
        results.append({"documents": archived, **fts, **surfaces(db_path, archive)})
        progress(f"search scaling at {size:,}: {results[-1]}")
    archive.close()
    return results


if __name__ == "__main__":
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser(description="The archive-scaling stage of benchmarks/pipeline.py alone.")
    parser.add_argument("--scale", default="1000,10000,100000", help="archive sizes")
    parser.add_argument("--search-only", action="store_true", help="only search latency, documents inserted as rows")
    parser.add_argument("--db", type=Path, help="with --search-only: keep (or grow) the archive in this file")
    parser.add_argument("--record-only", type=int, metavar="N", help="time N records added to the archive --db")
    parser.add_argument("--build", type=int, metavar="N", help="grow the archive --db to N documents through record")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="with --record-only: cProfile stats to FILE")
    args = parser.parse_args()
    sizes = [int(s) for s in args.scale.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="readouts-scaling-") as tmp:
        if args.build and args.db:
            print(json.dumps(build(args.db, args.build), indent=1))
        elif args.record_only and args.db:
            print(json.dumps(measure_record(args.db, args.record_only, args.profile), indent=1))
        else:
            run = measure_search if args.search_only else measure
            print(json.dumps(run(args.db or Path(tmp) / "scaling.db", sizes), indent=1))
