"""Notifications through Apprise: the message, delivery to a loopback webhook, and failures that never raise."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from crawler.monitor.notify import message, send, valid_url

TITLES = ["<b>&\"' 习近平 Путин", "Talks in Moscow", None, "Back again", "Moved page"]


def event(n: int, kind: str, title: str | None = "Talks", **extra: Any) -> dict[str, Any]:
    """Return a change event as the archive stores it."""
    base: dict[str, Any] = {
        "id": n,
        "at": f"2026-11-{10 + n:02d}T10:00:00Z",
        "kind": kind,
        "url": f"http://127.0.0.2/a/{n}.html?x=1&y=2",
        "source": "ministry",
        "title": title,
        "revision": n,
        "previous_hash": f"prev{n}",
        "content_hash": f"hash{n}",
        "diff": None,
        "target": None,
    }
    return base | extra


def some_events() -> list[dict[str, Any]]:
    """Return one event of every kind, with a second new one, in no particular order."""
    return [
        event(1, "changed", TITLES[1], diff="-SECRET-DIFF\n+new", text="SECRET-TEXT"),
        event(2, "new", TITLES[0]),
        event(3, "gone", TITLES[2]),
        event(4, "back", TITLES[3]),
        event(5, "moved", TITLES[4], target="http://127.0.0.2/b/5.html"),
        event(6, "new", "Second new"),
    ]


class Receiver(ThreadingHTTPServer):
    """A webhook on loopback that records each POST's path, headers and body; answers `status`."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Return the Apprise json:// URL of this receiver."""
        return f"json://127.0.0.1:{self.server_address[1]}/hook"


class _Hook(BaseHTTPRequestHandler):
    """Record a POST and answer with the receiver's status."""

    server: Receiver  # type: ignore[assignment]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append((self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Run a loopback webhook for one test."""
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()
    server.thread.join(5)


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sent_events(body: str) -> list[dict[str, Any]]:
    """Return the machine-readable events from the end of a message body."""
    head, _, tail = body.rpartition("\nevents:\n")
    assert head and tail
    return list(json.loads(tail))


# --- message ---------------------------------------------------------------------------------------------------------


def test_title_counts_kinds_in_order() -> None:
    title, _ = message(some_events())
    assert title == "readouts: 2 new, 1 changed, 1 gone, 1 back, 1 moved"
    assert message([event(1, "gone"), event(2, "new"), event(3, "gone")])[0] == "readouts: 1 new, 2 gone"


def test_body_lines_grouped_by_kind() -> None:
    _, body = message(some_events())
    lines = body.split("\nevents:\n")[0].strip().splitlines()
    assert [line.split()[0] for line in lines] == ["NEW", "NEW", "CHANGED", "GONE", "BACK", "MOVED"]
    for line in lines:
        assert " — http://127.0.0.2/a/" in line
    assert lines[0].startswith("NEW") and "<b>&\"' 习近平 Путин" in lines[0]
    assert lines[0].endswith("http://127.0.0.2/a/2.html?x=1&y=2")
    assert lines[-1].endswith("http://127.0.0.2/a/5.html?x=1&y=2 → http://127.0.0.2/b/5.html")
    assert "→" not in "".join(lines[:-1])


def test_body_ends_with_small_json_events() -> None:
    events = some_events()
    _, body = message(events)
    assert "SECRET-DIFF" not in body and "SECRET-TEXT" not in body
    small = sent_events(body)
    keys = {"kind", "url", "source", "title", "at", "revision", "content_hash", "previous_hash", "target"}
    assert len(small) == len(events) and all(set(item) == keys for item in small)
    assert sorted((e["url"], e["kind"], e["title"], e["target"]) for e in small) == sorted(
        (e["url"], e["kind"], e["title"], e["target"]) for e in events
    )


# --- send ------------------------------------------------------------------------------------------------------------


def test_events_reach_a_json_webhook(receiver: Receiver) -> None:
    events = some_events()
    assert send([receiver.url], events) is True
    assert len(receiver.posts) == 1
    path, headers, raw = receiver.posts[0]
    assert path == "/hook" and headers["Content-Type"].startswith("application/json")
    payload = json.loads(raw)
    # Apprise's json:// format: {"version": "1.0", "title": ..., "message": ..., "attachments": [], "type": "info"}
    assert {"title", "message", "type"} <= set(payload)
    assert payload["title"] == message(events)[0]
    for item in events:
        assert item["url"] in payload["message"]
        if item["title"]:
            assert item["title"] in payload["message"]
    assert {e["url"] for e in sent_events(payload["message"])} == {e["url"] for e in events}


def test_every_url_gets_the_message(receiver: Receiver) -> None:
    other = Receiver()
    try:
        assert send([receiver.url, other.url], [event(1, "new")]) is True
        assert len(receiver.posts) == 1 and len(other.posts) == 1
    finally:
        other.shutdown()
        other.server_close()


def test_receiver_error_status_is_false(receiver: Receiver) -> None:
    receiver.status = 503
    assert send([receiver.url], [event(1, "new")]) is False
    assert len(receiver.posts) == 1  # tried once, no retries by default


def test_receiver_down_is_false_quickly() -> None:
    started = time.monotonic()
    assert send([f"json://127.0.0.1:{closed_port()}/hook"], some_events()) is False
    assert time.monotonic() - started < 5


def test_hung_receiver_honours_url_timeouts() -> None:
    with socket.socket() as sock:  # listens (the kernel completes the handshake) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        started = time.monotonic()
        assert send([f"json://127.0.0.1:{sock.getsockname()[1]}/hook?cto=1&rto=1"], [event(1, "new")]) is False
        assert time.monotonic() - started < 5


@pytest.mark.slow
def test_hung_receiver_times_out_by_default() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        started = time.monotonic()
        assert send([f"json://127.0.0.1:{sock.getsockname()[1]}/hook"], [event(1, "new")]) is False
        assert time.monotonic() - started < 30


def test_invalid_url_is_false_and_logged(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="crawler.monitor.notify"):
        assert send(["nosuchscheme://x"], [event(1, "new")]) is False
    assert any(r.name == "crawler.monitor.notify" and r.levelno == logging.WARNING for r in caplog.records)
    # a bad URL next to a good one: the good one still gets the message, but the result says something failed
    assert send(["nosuchscheme://x", receiver.url], [event(1, "new")]) is False
    assert len(receiver.posts) == 1


def test_no_events_sends_nothing(receiver: Receiver) -> None:
    assert send([receiver.url], []) is True
    assert send(["nosuchscheme://x"], []) is True
    assert receiver.posts == []


def test_send_never_raises(receiver: Receiver) -> None:
    assert send([receiver.url], [{"no": "kind"}]) is False
    assert send([""], [event(1, "new")]) is False
    assert receiver.posts == []


# --- valid_url -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["json://127.0.0.1:8080/hook", "jsons://example.org/hook?cto=3", "mailto://user:pass@example.org", "form://h/x"],
)
def test_valid_url_accepts(url: str) -> None:
    assert valid_url(url) is True


@pytest.mark.parametrize("url", ["", "nosuchscheme://x", "not a url", "http//example.org", "json://"])
def test_valid_url_refuses(url: str) -> None:
    assert valid_url(url) is False
