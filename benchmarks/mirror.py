"""A generated mirror of three ministry-like sites, and a Twisted static server for it (`python mirror.py serve`).

Article pages are ~60 KB like a ministry's (menus, sidebar, footer around a 600-1,200-word body); a fifth of the
readouts are republished on all three sites, each in its own template; listing pages link 20 articles each.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HOSTS = ("127.0.0.51", "127.0.0.52", "127.0.0.53")
PER_LISTING = 20
FIRST_DAY = date(2014, 1, 1)
WORDS = [
    "the",
    "two",
    "sides",
    "exchanged",
    "views",
    "on",
    "bilateral",
    "relations",
    "and",
    "international",
    "regional",
    "issues",
    "of",
    "common",
    "interest",
    "agreed",
    "to",
    "deepen",
    "practical",
    "cooperation",
    "in",
    "trade",
    "energy",
    "connectivity",
    "culture",
    "education",
    "science",
    "technology",
    "president",
    "minister",
    "foreign",
    "affairs",
    "talks",
    "meeting",
    "held",
    "capital",
    "state",
    "visit",
    "comprehensive",
    "strategic",
    "partnership",
    "coordination",
    "new",
    "era",
    "development",
    "security",
    "stability",
    "multilateral",
    "united",
    "nations",
    "framework",
    "dialogue",
    "mutual",
    "respect",
    "trust",
    "benefit",
    "people",
    "friendship",
    "peace",
    "prosperity",
    "economic",
    "investment",
    "agriculture",
    "health",
    "climate",
]


@dataclass
class Page:
    """One article page of one site."""

    site: int
    path: str
    readout: int


def readout_text(n: int) -> tuple[str, list[str]]:
    """The title and paragraphs of readout n: 600-1,200 words, distinct from every other readout."""
    rng = random.Random(n)
    words = rng.randint(600, 1200)
    paragraphs, left = [], words
    while left > 0:
        size = min(left, rng.randint(50, 110))
        sentence = " ".join(rng.choice(WORDS) for _ in range(size - 3))
        paragraphs.append(f"On day {n} of talks, {sentence} (item {n}-{len(paragraphs)}).")
        left -= size
    return f"Foreign Minister Holds Talks with Counterpart {n}", paragraphs


def template(site: int, title: str, body: str) -> str:
    """A ministry-like page: header menus, a sidebar, the body and a footer (~60 KB with the body)."""
    menu = "".join(f"<li><a href='/section/{site}/{i}/'>Section {i} of site {site}</a></li>" for i in range(160))
    side = "".join(f"<li><a href='/topic/{i}.html'>Related topic number {i} on site {site}</a></li>" for i in range(80))
    foot = "".join(
        f"<p>Footer line {i}: copyright ministry {site}, all rights reserved, ICP {i}.</p>" for i in range(40)
    )
    style = "<style>" + ".c{color:#333;margin:0 auto;padding:4px}" * 850 + "</style>"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>{style}</head><body>"
        f"<header><nav><ul>{menu}</ul></nav></header><div class='main'><aside><ul>{side}</ul></aside>"
        f"<div class='article'><h1>{title}</h1><div class='content'>{body}</div></div></div>"
        f"<footer>{foot}</footer></body></html>"
    )


def plan(pages: int) -> list[Page]:
    """Spread about `pages` article pages over the three sites; every fifth readout appears on all three."""
    out: list[Page] = []
    n = 0
    while len(out) < pages:
        sites = range(3) if n % 5 == 0 else [n % 3]
        for site in sites:
            day = FIRST_DAY + timedelta(days=n // 3)  # dated URLs as the MFA's: /202303/t20230321_11045210.html
            out.append(Page(site, f"/news/{day:%Y%m}/t{day:%Y%m%d}_{11_000_000 + n}.html", n))
        n += 1
    return out[:pages]


def build(root: Path, pages: int) -> list[Page]:
    """Write the mirror under root (one folder per site) and return its article pages."""
    planned = plan(pages)
    for site in range(3):
        own = [p for p in planned if p.site == site]
        site_root = root / f"site{site}"
        (site_root / "news").mkdir(parents=True, exist_ok=True)
        (site_root / "robots.txt").write_text("User-agent: *\nAllow: /\n")
        for page in own:
            title, paragraphs = readout_text(page.readout)
            body = "".join(f"<p>{p}</p>" for p in paragraphs)
            target = site_root / page.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(template(site, title, body), encoding="utf-8")
        chunks = [own[i : i + PER_LISTING] for i in range(0, len(own), PER_LISTING)] or [[]]
        for i, chunk in enumerate(chunks):
            links = "".join(f"<li><a href='{p.path}'>Readout {p.readout}</a></li>" for p in chunk)
            more = f"<a href='/news/index_{i + 1}.html'>Next</a>" if i + 1 < len(chunks) else ""
            name = "index.html" if i == 0 else f"index_{i}.html"
            (site_root / "news" / name).write_text(template(site, "News", f"<ul>{links}</ul>{more}"), encoding="utf-8")
    return planned


def sources_toml(ports: dict[str, int], concurrency: int) -> str:
    """The sources file crawling the three sites."""
    entries = []
    for site, host in enumerate(HOSTS):
        base = f"http://{host}:{ports[host]}"
        entries.append(
            f"[source.site{site}]\nstart_urls = ['{base}/news/index.html']\nfollow = ['/news/index_\\d+\\.html$']\n"
            f"articles = ['/news/\\d{{6}}/t\\d{{8}}_\\d+\\.html$']\ndelay = 0\nconcurrency = {concurrency}\n"
            f"max_pages = 1000000\nmax_depth = 100000\n"
        )
    return "\n".join(entries)


def serve(root: Path) -> None:
    """Serve site0..site2 on the three loopback hosts with Twisted's static File; print the ports as JSON."""
    from twisted.internet import reactor
    from twisted.web.server import Site
    from twisted.web.static import File

    ports = {}
    for site, host in enumerate(HOSTS):
        resource = File(str(root / f"site{site}"))
        resource.contentTypes[".html"] = "text/html; charset=utf-8"
        ports[host] = reactor.listenTCP(0, Site(resource, logPath=None), interface=host).getHost().port  # type: ignore[attr-defined]
    print(json.dumps(ports), flush=True)
    reactor.run()  # type: ignore[attr-defined]


def serve_threaded(root: Path) -> None:
    """Serve site0..site2 with the standard library's threaded server, with ETags; print the ports as JSON."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from typing import ClassVar

    class Handler(SimpleHTTPRequestHandler):
        """Static files with an ETag of size and mtime, answering 304 to a matching If-None-Match."""

        protocol_version = "HTTP/1.1"
        extensions_map: ClassVar[dict[str, str]] = {
            **SimpleHTTPRequestHandler.extensions_map,
            ".html": "text/html; charset=utf-8",
        }

        def send_head(self):  # type: ignore[no-untyped-def]
            """Answer 304 to a matching If-None-Match, else as the standard handler does."""
            path = Path(self.translate_path(self.path))
            if path.is_file():
                stat = path.stat()
                self._etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
                if self.headers.get("If-None-Match") == self._etag:
                    self.send_response(304)
                    self.end_headers()
                    return None
            return super().send_head()

        def end_headers(self) -> None:
            """Add the ETag to every answer for a file."""
            if getattr(self, "_etag", None):
                self.send_header("ETag", self._etag)
                self._etag = None
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

    ports = {}
    for site, host in enumerate(HOSTS):
        server = ThreadingHTTPServer((host, 0), partial(Handler, directory=str(root / f"site{site}")))
        server.daemon_threads = True
        ports[host] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps(ports), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    (serve_threaded if sys.argv[1] == "serve-threaded" else serve)(Path(sys.argv[2]))
