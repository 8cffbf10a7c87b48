"""Real HTTP servers on loopback addresses (127.0.0.x, port 0), each serving one fixture site from a route table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A canned HTTP answer."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


# a route is a canned Reply, or a function that writes the answer itself (for hostile behaviour)
Route = Reply | Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line, remembering which status each request got."""
        self.server.answers.append((self.path, code))
        super().send_response(code, message)

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.server.times.append((self.path, time.monotonic()))
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = self.server.routes.get(self.path.split("?")[0] if self.path not in self.server.routes else self.path)
        if route is None:
            route = Reply(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)
        if callable(route):
            route(self)
            return
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer(ThreadingHTTPServer):
    """One fixture site on its own loopback address."""

    daemon_threads = True

    def __init__(self, host: str, routes: dict[str, Route]) -> None:
        super().__init__((host, 0), _Handler)
        self.routes = routes
        self.hits: list[str] = []
        self.times: list[tuple[str, float]] = []  # (path, when it was asked), for politeness checks
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, request headers, lower-cased names)
        self.answers: list[tuple[str, int]] = []  # (path, status sent)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-answer (killed crawls, cancelled downloads)."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def conditional(body: bytes, content_type: str = "text/html; charset=utf-8") -> Route:
    """Return a route that sends ETag and Last-Modified and answers 304 to a matching conditional request."""
    import hashlib

    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    modified = "Tue, 05 Mar 2024 10:00:00 GMT"

    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", etag)
        handler.send_header("Last-Modified", modified)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def send_html(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Answer 200 with an HTML body."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def slow(body: bytes, seconds: float) -> Route:
    """Return a route that answers after a pause, so a crawl is still running when a test acts."""
    import time

    def answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        send_html(handler, body)

    return answer
