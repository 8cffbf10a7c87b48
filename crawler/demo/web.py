"""The demo's sample web: the seed readouts republished by a ministry, an embassy and a news portal, on loopback."""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

# which seed readouts each site publishes (file stems under crawler/demo/seeds)
SITES: dict[str, tuple[str, ...]] = {
    "ministry": ("2014-05-20", "2018-06-08", "2019-06-05", "2022-02-04", "2023-03-21", "zh-2019-06-05"),
    "embassy": ("2018-06-08", "2019-06-05", "2022-02-04"),
    "news": ("2019-06-05", "2023-03-21"),
}
NAMES = {"ministry": "Ministry of Foreign Affairs", "embassy": "Embassy in Athens", "news": "World News Portal"}
# each site on its own loopback address, as real sites have their own hosts (templates are learned per host)
HOSTS = {"ministry": "127.0.0.1", "embassy": "127.0.0.2", "news": "127.0.0.3"}
EDITED = ("ministry", "2019-06-05")  # the page that is edited between the two crawls
EDIT = ("since the establishment of diplomatic relations 70 years ago", "over the 70 years since diplomatic ties began")
# each site's own template: lines above and below the text of every page it serves, listings included, inside the
# content area as on the real sites the seeds were scraped from (so extraction keeps them: the crawl must learn them)
CHROME: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ministry": (("Home > Topics > China-Russia Relations",), ("Suggest to a Friend:",)),
    "embassy": (
        (
            "Home   Embassy Info   About China   China & Greece   Economy & Trade   Consular Affairs   "
            "Culture & Education   Science & Technology   The Olympics   China's EU Policy Paper",
            "Home > China News",
        ),
        ("Suggest To A Friend",),
    ),
    "news": ((), ("Download from Apple Store or Play Store.",)),
}
# the template lines of the sites each seed was scraped from: the demo sites serve their own template instead
SCRAPED_CHROME = {
    "2014-05-20": (
        "Home > Topics > Fourth Summit of Conference on Interaction and Confidence Building Measures in Asia",
        "Suggest to a Friend:",
    ),
    "2018-06-08": (*CHROME["embassy"][0], *CHROME["embassy"][1]),
    "2019-06-05": ("Suggest to a Friend:",),
    "2023-03-21": CHROME["news"][1],
}


def seed(stem: str) -> tuple[str, list[str]]:
    """Return a seed readout's title and its lines (as scraped, less the template of the site it was scraped from)."""
    text = resources.files("crawler.demo").joinpath("seeds", f"{stem}.txt").read_text(encoding="utf-8")
    scraped = {" ".join(line.split()) for line in SCRAPED_CHROME.get(stem, ())}
    lines = [line.strip() for line in text.splitlines() if line.strip() and " ".join(line.split()) not in scraped]
    title = next(line for line in lines if "Xi" in line or "习近平" in line)
    return title, lines


def article_path(stem: str) -> str:
    """The URL path of a readout on every demo site."""
    return f"/news/{stem[-10:-6]}/{stem}.html"


def page(site: str, title: str, body: str, container: str = "article") -> bytes:
    """One page in the site's own template: a menu, its template lines around the body, and a footer."""
    menu = "".join(f"<li><a href='/section/{i}/'>Section {i}</a></li>" for i in range(8))
    above, below = (("".join(f"<p>{html.escape(line)}</p>" for line in lines)) for lines in CHROME[site])
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)} - {NAMES[site]}</title>"
        f"</head><body><header><h2>{NAMES[site]}</h2><nav><ul>{menu}</ul></nav></header>"
        f"<main><{container}>{above}{body}{below}</{container}></main>"
        f"<footer><p>Copyright {NAMES[site]}. All rights reserved.</p></footer></body></html>"
    ).encode()


def article(site: str, stem: str, edited: bool = False) -> bytes:
    """A readout page: its date, title and every line of the seed as a paragraph."""
    title, lines = seed(stem)
    paragraphs = []
    for line in lines:
        if edited:
            line = line.replace(*EDIT)
        paragraphs.append(f"<p>{html.escape(line)}</p>")
    body = (
        f"<h1>{html.escape(title)}</h1><p class='date'><time datetime='{stem[-10:]}'>{stem[-10:]}</time></p>"
        f"{''.join(paragraphs)}"
    )
    return page(site, title, body).replace(b"<head>", f"<head><meta name='date' content='{stem[-10:]}'>".encode(), 1)


@dataclass
class DemoSite:
    """One demo site served on its own loopback address."""

    name: str
    routes: dict[str, bytes] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    def start(self) -> DemoSite:
        """Build the pages and start serving them in a thread."""
        stems = SITES[self.name]
        links = "".join(f"<li><a href='{article_path(s)}'>{html.escape(seed(s)[0])}</a></li>" for s in stems)
        self.routes = {"/news/": page(self.name, "News", f"<ul>{links}</ul>", "div"), "/robots.txt": b"User-agent: *\n"}
        self.routes.update({article_path(s): article(self.name, s) for s in stems})
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = routes.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/plain" if self.path.endswith(".txt") else "text/html")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOSTS[self.name], 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base(self) -> str:
        """The site's base URL."""
        assert self.server is not None
        return f"http://{HOSTS[self.name]}:{self.server.server_address[1]}"

    def edit(self, stem: str) -> None:
        """Silently edit one readout (the same URL now serves a changed sentence)."""
        self.routes[article_path(stem)] = article(self.name, stem, edited=True)

    def stop(self) -> None:
        """Stop serving."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def sources_toml(sites: list[DemoSite]) -> str:
    """The demo's sources file: one source per site."""
    return "\n".join(
        f"[source.demo-{s.name}]\nstart_urls = ['{s.base}/news/']\narticles = ['/news/\\d{{4}}/[\\w-]+\\.html$']\n"
        f"delay = 0\nconcurrency = 4\n"
        for s in sites
    )
