"""Crawl throughput on loopback: serve N article pages, crawl them with `readouts crawl`, print pages per second.

Usage: python benchmarks/crawl_throughput.py [--pages 500] [--concurrency 8]
Measures the whole path (fetch, extraction in the worker pool, template, hash, SQLite) as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mockserver import Reply, SiteServer

PARAGRAPH = (
    "The two sides exchanged views on bilateral relations and on international and regional issues of common "
    "interest, and agreed to deepen practical cooperation in trade, energy, connectivity and culture. "
)


def article(n: int) -> bytes:
    """A ~60 KB article page with menus, a body of distinct paragraphs and a footer."""
    menu = "".join(f"<li><a href='/section/{i}/'>Section {i}</a></li>" for i in range(60))
    body = "".join(f"<p>Paragraph {i} of readout {n}. {PARAGRAPH * 3}</p>" for i in range(40))
    return (
        f"<html><head><title>Readout {n}</title><meta name='PubDate' content='2024-01-{n % 28 + 1:02d}'></head>"
        f"<body><nav><ul>{menu}</ul></nav><h1>Foreign Minister holds talks, readout {n}</h1>"
        f"<div class='content'>{body}</div><footer>{menu}<p>Copyright Ministry. All rights reserved.</p></footer>"
        "</body></html>"
    ).encode()


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    per_listing = 50
    routes: dict[str, Reply] = {"/robots.txt": Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain")}
    for n in range(args.pages):
        routes[f"/news/{n}.html"] = Reply(article(n))
    listings = (args.pages + per_listing - 1) // per_listing
    for page in range(listings):
        links = "".join(
            f"<a href='/news/{n}.html'>{n}</a>" for n in range(page * per_listing, (page + 1) * per_listing)
        )
        routes[f"/list/{page}.html"] = Reply(
            f"<html><body>{links}<a href='/list/{page + 1}.html'>next</a></body></html>".encode()
        )
    server = SiteServer("127.0.0.1", routes).start()
    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "s.toml"
        sources.write_text(
            f"[source.bench]\nstart_urls = ['{server.url('/list/0.html')}']\nfollow = ['/list/\\d+\\.html$']\n"
            f"articles = ['/news/\\d+\\.html$']\ndelay = 0\nconcurrency = {args.concurrency}\n"
            f"max_pages = {args.pages * 2}\n"
        )
        cmd = [sys.executable, "-m", "crawler", "--db", f"{tmp}/b.db", "--sources", str(sources), "crawl", "--json"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        server.stop()
        if proc.returncode != 0:
            sys.exit(f"crawl failed: {proc.stderr[-2000:]}")
        counts = json.loads(proc.stdout)
        size = len(article(0))
    print(f"pages: {counts['pages_fetched']} of {size // 1024} KB, new documents: {counts['new_documents']}")
    print(f"wall time: {elapsed:.1f} s (process start included)")
    print(f"throughput: {counts['pages_fetched'] / elapsed:.1f} pages/s")


if __name__ == "__main__":
    main()
