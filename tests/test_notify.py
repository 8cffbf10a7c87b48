"""Notifications: the short message, the webhook JSON body on a loopback receiver, and failures that never raise."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from crawler.monitor.notify import CHAT_LIMIT, message, send, valid_url, webhook_event

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


def test_body_has_no_json_and_stays_under_chat_limits() -> None:
    events = [event(i, "new", f"Readout {i}: " + "talks " * 60) for i in range(1, 500)]
    title, body = message(events)
    assert title == "readouts: 499 new" and len(body) <= CHAT_LIMIT < 2000  # Discord's limit; Telegram's is 4,096
    assert body.endswith("more (readouts changes)") and "{" not in body
    assert all(len(line) <= 300 for line in body.splitlines())
    _, few = message(some_events())
    assert "more" not in few and len(few.splitlines()) == 6  # nothing cut when it fits
    short = message(some_events(), limit=200)[1]
    assert len(short) <= 200 and short.endswith("… and 4 more (readouts changes)") and len(short.splitlines()) == 3


def test_webhook_events_link_to_the_diff_when_serve_has_a_public_url() -> None:
    changed = event(1, "changed", document_id=7, revision_id=9)
    record = webhook_event(changed, "https://readouts.example.org/")
    history = "https://readouts.example.org/-/readouts/history?url=http%3A%2F%2F127.0.0.2%2Fa%2F1.html%3Fx%3D1%26y%3D2"
    assert record.history_url == history and record.diff_url == history + "#revision-1"
    assert (record.document_id, record.revision_id, record.revision) == (7, 9, 1)
    assert webhook_event(event(2, "new"), "https://readouts.example.org").diff_url is None  # no diff for a new page
    bare = webhook_event(changed)
    assert bare.history_url is None and bare.diff_url is None  # no public URL configured: no links


# --- send ------------------------------------------------------------------------------------------------------------


def test_events_reach_a_json_webhook_as_a_list_of_objects(receiver: Receiver) -> None:
    events = [{**e, "document_id": e["id"] + 100, "revision_id": e["id"] + 200} for e in some_events()]
    assert send([receiver.url + "?+X-Token=s3cret"], events, public_url="http://127.0.0.1:8001") is True
    assert len(receiver.posts) == 1
    path, headers, raw = receiver.posts[0]
    assert path == "/hook" and headers["Content-Type"].startswith("application/json") and headers["X-Token"] == "s3cret"
    payload = json.loads(raw)  # one parse: the events are objects, not text inside a string
    assert {"version", "title", "message", "type"} <= set(payload)  # Apprise's json:// keys are kept
    assert payload["title"] == message(events)[0] and payload["message"] == message(events)[1]
    got = {item["event_id"]: item for item in payload["events"]}
    assert len(got) == len(events)
    for sent in events:
        item = got[sent["id"]]
        assert (item["kind"], item["url"], item["title"], item["source"], item["at"]) == (
            sent["kind"],
            sent["url"],
            sent["title"],
            sent["source"],
            sent["at"],
        )
        assert (item["document_id"], item["revision_id"], item["target"]) == (
            sent["id"] + 100,
            sent["id"] + 200,
            sent["target"],
        )
        assert item["history_url"].startswith("http://127.0.0.1:8001/-/readouts/history?url=")
        assert (item["diff_url"] is not None) == (sent["kind"] == "changed")
    assert "SECRET-DIFF" not in raw.decode() and "SECRET-TEXT" not in raw.decode()  # no diff text, no full text


def test_chat_urls_get_the_short_message(receiver: Receiver) -> None:
    events = [event(i, "new", "Talks " * 80) for i in range(1, 300)]
    form = receiver.url.replace("json://", "form://")  # a non-webhook Apprise URL, as Discord or Telegram would be
    assert send([form], events) is True
    (_, _, raw) = receiver.posts[0]
    fields = dict(parse_qsl(raw.decode()))
    assert fields["message"] == message(events)[1] and len(fields["message"]) <= CHAT_LIMIT


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
