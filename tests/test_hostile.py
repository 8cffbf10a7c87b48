"""Hostile pages on one loopback site, crawled together with good ones (README, Reliability).

Each bad page must end with a recorded error and no document; the good pages of the same crawl are archived; the crawl
ends in bounded time; no request leaves the source's hosts.
"""

from __future__ import annotations

import gzip
import sqlite3
import time
import zlib
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import brotli
import zstandard

from spiders.settings import BASE_SETTINGS
from tests.conftest import write_sources
from tests.fixtureweb.fillers import FILLERS
from tests.mockserver import Reply, Route

BOMB_BYTES = 200 * 1024 * 1024  # decompresses to 200 MB: far over DOWNLOAD_MAXSIZE (32 MB)
PAGE_TIMEOUT_S = 3  # the test source's page_timeout: a slow drip ends here (retried twice)
EXTRACT_TIMEOUT_S = 3  # the test source's extract_timeout: 100,000 paragraphs take ~20 s to extract here
# bounds asserted below and stated in README "Reliability"
CRAWL_BOUND_S = 120
PEAK_RSS_BOUND_MB = 800


def article(n: int) -> bytes:
    """A good readout page."""
    f = FILLERS[n]
    paras = "".join(f"<p>{line}</p>" for line in f.body)
    return (
        f'<html><head><meta charset="utf-8"><title>{f.title}</title></head><body><h1>{f.title}</h1>'
        f"<article>{paras}</article></body></html>".encode()
    )


def cut_body(handler: BaseHTTPRequestHandler) -> None:
    """Promise 20,000 bytes, send 5,000, hang up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", "20000")
    handler.end_headers()
    handler.wfile.write(article(2)[:5000].ljust(5000, b" "))
    handler.wfile.flush()
    handler.close_connection = True


@cache
def compressed_zeros(encoding: str) -> bytes:
    """BOMB_BYTES of zeros in one Content-Encoding."""
    zeros = b"\0" * BOMB_BYTES
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=6)
    if encoding == "deflate":
        return zlib.compress(zeros, 6)
    if encoding == "br":
        return bytes(brotli.compress(zeros, quality=4))
    return zstandard.ZstdCompressor(level=3).compress(zeros)


def bomb(encoding: str) -> Reply:
    """A compression bomb with a Content-Length."""
    return Reply(compressed_zeros(encoding), headers={"Content-Encoding": encoding})


def chunked_bomb(encoding: str) -> Route:
    """A compression bomb sent in chunks, without a Content-Length."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        body = compressed_zeros(encoding)
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Encoding", encoding)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), 16384):
            part = body[start : start + 16384]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        handler.wfile.write(b"0\r\n\r\n")

    return answer


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A chunked body that never ends."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"<p>" + b"more " * 3000 + b"</p>"
    while True:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def drip(handler: BaseHTTPRequestHandler) -> None:
    """A body that arrives one byte every half second, for ever."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(100000):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.5)


def huge_page() -> Reply:
    """100,000 paragraphs (6 MB): extraction would take ~20 s here, over the source's extract_timeout."""
    paras = "".join(f"<p>Paragraph {i} of a very long page about the talks held that day.</p>" for i in range(100000))
    return Reply(f"<html><body><article>{paras}</article></body></html>".encode())


BAD = {
    **{f"/a/bomb-{e}.html": ("download", bomb(e)) for e in ("gzip", "deflate", "br", "zstd")},
    **{f"/a/chunked-bomb-{e}.html": ("download", chunked_bomb(e)) for e in ("gzip", "deflate", "br", "zstd")},
    "/a/endless.html": ("download", endless),
    "/a/drip.html": ("download", drip),
    "/a/huge.html": ("extraction timed out", huge_page()),
    "/a/cut.html": ("download", cut_body),
    "/a/loop.html": ("redirect", Reply(b"", status=302, headers={"Location": "/a/loop2.html"})),
    "/a/loop2.html": ("redirect", Reply(b"", status=302, headers={"Location": "/a/loop.html"})),
    "/a/pdf.html": ("not-html", Reply(b"%PDF-1.7\n" + bytes(4000), content_type="text/html")),
    "/a/png.html": ("not-html", Reply(b"\x89PNG\r\n\x1a\n" + bytes(4000), content_type="text/html")),
    "/a/deep.html": ("too-deep", Reply(b"<html><body>" + b"<div>" * 300 + b"<p>deep</p>" + b"</div>" * 300)),
    "/a/empty.html": ("empty", Reply(b"<html><body><nav><a href='/'>Home</a></nav></body></html>")),
}


FORGED = "data:text/html,<html><body><article><p>" + "A forged readout of talks that never took place. " * 20 + "</p>"


def test_hostile_pages_fail_with_reasons_and_good_pages_are_archived(tmp_path: Path, serve, readouts) -> None:
    other = serve("127.0.0.12", {"/a/stolen.html": Reply(article(3))})
    gbk = "当地时间2019年2月15日，杨洁篪在德国慕尼黑出席第55届慕尼黑安全会议期间会见卢森堡外交大臣阿瑟伯恩。" * 3
    routes: dict[str, Route] = {path: route for path, (_, route) in BAD.items()}
    routes.update(
        {
            "/a/good0.html": Reply(article(0)),
            "/a/good1.html": Reply(article(1)),
            "/a/gbk.html": Reply(
                f"<html><body><article><p>{gbk}</p><p>{gbk}</p></article></body></html>".encode("gbk")
            ),
            "/a/offsite.html": Reply(b"", status=302, headers={"Location": other.url("/a/stolen.html")}),
            "/a/file.html": Reply(b"", status=302, headers={"Location": "file:///etc/passwd"}),
            "/a/data.html": Reply(b"", status=302, headers={"Location": FORGED}),
            "/a/ftp.html": Reply(b"", status=302, headers={"Location": "ftp://127.0.0.11/a/readout.html"}),
            "/a/s3.html": Reply(b"", status=302, headers={"Location": "s3://bucket/a/readout.html"}),
        }
    )
    links = [p for p in routes if p != "/a/loop2.html"] + [other.url("/a/stolen.html"), "file:///etc/passwd", FORGED]
    routes["/news/"] = Reply("".join(f'<a href="{link}">x</a>' for link in links).encode())
    site = serve("127.0.0.11", routes)
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.hostile]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/[\\w-]+\\.html$']\ndelay = 0\n"
        f"page_timeout = '{PAGE_TIMEOUT_S}s'\nextract_timeout = '{EXTRACT_TIMEOUT_S}s'\n",
    )
    started = time.monotonic()
    result = readouts("--sources", str(sources), "crawl", "--json", timeout=300, peak=True)
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    print(f"hostile crawl: {elapsed:.1f}s, peak RSS {result.peak_rss_mb:.0f} MB")
    assert elapsed < CRAWL_BOUND_S  # every fault ends inside its per-page limit (page/extract timeouts, max size)
    assert result.peak_rss_mb is not None and result.peak_rss_mb < PEAK_RSS_BOUND_MB
    with sqlite3.connect(tmp_path / "archive.db") as db:
        pages = {
            url.split(":", 2)[2].split("/", 1)[1]: (text_hash, error)
            for url, text_hash, error in db.execute("select url, content_hash, error from pages")
        }
        documents = db.execute("select count(*) from documents").fetchone()[0]
    archived = {"a/good0.html", "a/good1.html", "a/gbk.html"}
    assert {p for p, (h, _) in pages.items() if h} == archived, (result.out, pages)
    assert documents == 3, pages  # nothing false archived
    for path, (kind, _) in BAD.items():
        if path == "/a/loop2.html":
            continue
        assert path.lstrip("/") in pages, (path, result.out, pages)
        text_hash, error = pages[path.lstrip("/")]
        assert text_hash is None and error, (path, error)
        if kind in ("not-html", "too-deep", "empty", "extraction timed out"):
            assert error.startswith(kind), (path, error)
    assert other.hits == []  # neither the redirect nor the link left the source's host
    assert pages["a/offsite.html"][1].startswith("IgnoreRequest: offsite")  # recorded on the URL asked for
    assert not any("127.0.0.12" in path for path in pages)
    assert "size limit" in pages["a/endless.html"][1] and "cut short" in pages["a/cut.html"][1]
    assert "took longer than" in pages["a/drip.html"][1]
    for scheme in ("file", "data", "ftp", "s3"):  # redirects to other schemes are refused, recorded, never fetched
        text_hash, error = pages[f"a/{scheme}.html"]
        assert text_hash is None and error == "HTTP 302", (scheme, error)  # Scrapy follows only http(s) redirects


def test_only_http_is_fetched_and_no_console_listens() -> None:
    handlers = BASE_SETTINGS["DOWNLOAD_HANDLERS"]
    assert all(handlers[scheme] is None for scheme in ("file", "data", "s3", "ftp"))
    assert BASE_SETTINGS["TELNETCONSOLE_ENABLED"] is False


def site_routes(n: int) -> dict[str, Route]:
    """A listing and one good article."""
    return {"/news/": Reply(b'<a href="/a/one.html">one</a>'), "/a/one.html": Reply(article(n))}


def test_robots_txt_failures_follow_the_stated_policy(tmp_path: Path, serve, readouts) -> None:
    unavailable = serve("127.0.0.13", {**site_routes(0), "/robots.txt": Reply(b"busy", status=503)})
    looping = serve(
        "127.0.0.14", {**site_routes(1), "/robots.txt": Reply(b"", status=302, headers={"Location": "/robots.txt?x=1"})}
    )
    missing = serve("127.0.0.15", site_routes(2))
    entries = []
    for name, server in (("unavailable", unavailable), ("looping", looping), ("missing", missing)):
        entries.append(f"[source.{name}]\nstart_urls = ['{server.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n")
    sources = write_sources(tmp_path / "s.toml", "\n".join(entries))
    result = readouts("--sources", str(sources), "crawl", "--json", timeout=300)
    assert result.code == 0, result.err
    exported = {r["source"] for r in readouts("export").jsonl()}
    assert exported == {"looping", "missing"}  # a robots.txt redirect loop means no rules; 404 means no rules
    assert all(not hit.startswith(("/news/", "/a/")) for hit in unavailable.hits)  # 5xx: the site is skipped
    errors = " ".join(e["error"] for e in result.json()["error_samples"])
    assert "robots.txt answered HTTP 503" in errors


def test_a_not_found_notice_served_with_200_is_no_article(tmp_path: Path, serve, readouts) -> None:
    notice = b"<html><body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>"
    site = serve(
        "127.0.0.16",
        {
            **site_routes(3),
            "/news/": Reply(b'<a href="/a/one.html">1</a><a href="/a/x.html">2</a>'),
            "/a/x.html": Reply(notice),
        },
    )
    sources = write_sources(
        tmp_path / "s.toml", f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
    )
    result = readouts("--sources", str(sources), "crawl", "--json")
    assert result.code == 0 and result.json()["failed"] == 1 and result.json()["new_documents"] == 1
    with sqlite3.connect(tmp_path / "archive.db") as db:
        (error,) = db.execute("select error from pages where url like '%/a/x.html'").fetchone()
    assert error.startswith("soft 404")
