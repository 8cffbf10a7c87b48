"""Cluster mode on this machine: pages/s of one and two workers with the writer, and of the writer alone.

    python benchmarks/cluster.py --pages 600

Every measure crawls the same generated mirror (benchmarks/mirror.py) into a fresh archive; a real redis-server
runs on a free loopback port. "writer alone": the writer is stopped (SIGSTOP) once it has seeded the crawl, two
workers fetch everything into Redis, then the writer is resumed and timed until the run is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from pipeline import Mirror, log, readouts  # noqa: E402

from crawler.cluster import keys  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def start(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a daemon (worker or writer) with its output in a log file."""
    with open(log_path, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop daemons and wait for them."""
    for proc in procs:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=120)


def wait_for(check: Any, what: str, timeout: float = 600) -> None:
    """Poll a condition on Redis (a benchmark, not a test: a short poll is the measuring instrument)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def cluster_crawl(site: Mirror, work: Path, workers: int, writer_alone: bool = False) -> dict[str, float]:
    """Crawl the mirror with N workers and the writer; return pages/s (and the writer's own rate when asked)."""
    folder = Path(tempfile.mkdtemp(dir=work))
    redis_server = RedisServer(folder).start()
    redis = keys.connect(redis_server.url)
    db = folder / "archive.db"
    base = readouts(db, site.sources)
    writer = start([*base, "writer", "--redis", redis_server.url], folder / "writer.log")
    procs = [writer]
    try:
        crawl = subprocess.Popen([*base, "crawl", "--json", "--redis", redis_server.url], stdout=subprocess.PIPE)
        began = time.perf_counter()
        if writer_alone:
            wait_for(lambda: redis.hlen(keys.RUNS) > 0, "the writer to seed the crawl")
            writer.send_signal(signal.SIGSTOP)
        procs += [start([*base, "worker", "--redis", redis_server.url], folder / f"w{i}.log") for i in range(workers)]
        result: dict[str, float] = {}
        if writer_alone:
            wait_for(lambda: redis.llen(keys.RESULTS) >= len(site.pages), "the workers to fetch every page")
            began = time.perf_counter()
            writer.send_signal(signal.SIGCONT)
        out, _ = crawl.communicate(timeout=3600)
        seconds = time.perf_counter() - began
        outcome = json.loads(out)
        result["pages"] = outcome["pages_fetched"]
        result["seconds"] = round(seconds, 2)
        result["pages_per_s"] = round(outcome["pages_fetched"] / seconds, 1)
        stored = sum(f.stat().st_size for f in folder.glob("archive.db*") if f.is_file())
        result["archive_kb_per_page"] = round(stored / 1024 / max(outcome["pages_fetched"], 1), 1)
        return result
    finally:
        stop(procs)
        redis_server.stop()


def redis_bytes_per_request(work: Path, count: int = 20_000) -> float:
    """Return Redis's memory per queued request: a typical article request, serialised as workers queue it."""
    from scrapy import Request

    from crawler.cluster import codec

    server = RedisServer(Path(tempfile.mkdtemp(dir=work))).start()
    try:
        redis = keys.connect(server.url)
        before = redis.info("memory")["used_memory"]
        base = "http://www.fmprc.gov.cn/eng/xw/zyxw/202303/t20230321_{}.html"
        pipe = redis.pipeline()
        for n in range(count):
            request = Request(base.format(11_000_000 + n), meta={"article": True, "source": "mfa", "run_id": 1})
            pipe.zadd(keys.QUEUE, {codec.dumps(request.to_dict()): -10})
            pipe.hset(keys.seen_articles(1), base.format(11_000_000 + n), "0" * 32)
            pipe.hset(keys.run_key(1, "fingerprints"), f"{n:040x}", "0" * 32)  # a request fingerprint and its claim
        pipe.execute()
        return round((redis.info("memory")["used_memory"] - before) / count, 1)
    finally:
        server.stop()


def local_crawl(site: Mirror, work: Path) -> dict[str, float]:
    """Crawl the mirror with the single-machine `readouts crawl`, for comparison."""
    db = Path(tempfile.mkdtemp(dir=work)) / "archive.db"
    began = time.perf_counter()
    out = subprocess.run([*readouts(db, site.sources), "crawl", "--json"], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    pages = json.loads(out.stdout)["pages_fetched"]
    return {"pages": pages, "seconds": round(seconds, 2), "pages_per_s": round(pages / seconds, 1)}


def main() -> None:
    """Run the measures and print them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site = Mirror(work / "mirror", args.pages)
        try:
            results = {"cores": os.cpu_count(), "pages": args.pages}
            log("single machine")
            results["single_machine"] = local_crawl(site, work)
            for n in (1, 2):
                log(f"{n} worker(s) and the writer")
                results[f"workers_{n}"] = cluster_crawl(site, work, n)
            results["redis_bytes_per_queued_request"] = redis_bytes_per_request(work)
            log("the writer alone")
            results["writer_alone"] = cluster_crawl(site, work, 2, writer_alone=True)
        finally:
            site.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
