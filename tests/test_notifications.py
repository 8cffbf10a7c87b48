"""Notifications end to end: the JSON body at a loopback webhook; a receiver that fails loses no event."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLIResult
from tests.fixtureweb import sites
from tests.test_changes import Web, mutate


class Receiver(ThreadingHTTPServer):
    """A webhook on loopback that records what it is sent; `up = False` makes it answer 503."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.posts: list[dict[str, Any]] = []
        self.up = True
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Hook(BaseHTTPRequestHandler):
    server: Receiver  # type: ignore[assignment]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = 200 if self.server.up else 503
        if self.server.up:
            self.server.posts.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def payload_text(post: dict[str, Any]) -> str:
    """Return everything Apprise sent, as one string."""
    return json.dumps(post, ensure_ascii=False)


def test_events_reach_a_webhook_and_a_failed_delivery_is_retried(tmp_path: Path, receiver: Receiver) -> None:
    port = receiver.server_address[1]
    public = 'public_url = "http://127.0.0.1:8001/"'
    web = Web(tmp_path, notify=f'[notify]\nurls = ["json://127.0.0.1:{port}/hook"]\n{public}\n')
    try:
        first = web.crawl()
        assert first["notified"] == 8 and first["notify_pending"] == 0
        assert len(receiver.posts) == 1  # one message per crawl
        text = payload_text(receiver.posts[0])
        new = {e["url"]: e for e in receiver.posts[0]["events"]}  # parsed once, by the receiver: a list of objects
        assert len(new) == 8 and {e["kind"] for e in new.values()} == {"new"}
        assert all(e["document_id"] and e["revision_id"] and e["source"] and e["at"] for e in new.values())
        for name in ("ministry", "embassy"):
            for article in sites.articles(name):
                assert web.url(name, article.path) in text
                assert json.dumps(article.title, ensure_ascii=False)[1:-1] in text
        receiver.up = False
        articles = mutate(web)
        second = web.crawl("--recheck")  # the receiver fails: the crawl still succeeds
        assert second["status"] == "ok" and second["notified"] == 0 and second["notify_pending"] > 0
        receiver.up = True
        sent: CLIResult = web.cli("notify")
        assert sent.code == 0, sent.err
        assert len(receiver.posts) == 2
        text = payload_text(receiver.posts[1])
        sent_events = {e["url"]: e for e in receiver.posts[1]["events"]}
        edited = sent_events[web.url("ministry", articles["edited"].path)]
        assert edited["kind"] == "changed" and edited["revision"] == 2 and edited["revision_id"]
        assert edited["diff_url"] == edited["history_url"] + "#revision-2"
        assert edited["history_url"].startswith("http://127.0.0.1:8001/-/readouts/history?url=http")
        assert web.url("ministry", articles["edited"].path) in text and "changed" in text
        assert web.url("ministry", articles["deleted"].path) in text and "gone" in text
        # nothing left pending; --since re-sends what was already delivered
        assert web.cli("notify").code == 0 and len(receiver.posts) == 2
        assert web.cli("notify", "--since", "2000-01-01").code == 0 and len(receiver.posts) == 3
    finally:
        web.close()


def test_bad_notification_url_is_refused_before_anything_runs(tmp_path: Path, readouts) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[notify]\nurls = ["nosuchscheme://x"]\n[source.a]\nstart_urls = ["http://127.0.0.2/"]\narticles = ["/a/"]\n'
    )
    result = readouts("--sources", str(path), "crawl")
    assert result.code == 2 and "notify" in result.err and "urls" in result.err
