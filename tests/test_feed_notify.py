"""The Atom feed's escaping and validity; Apprise delivery to a receiver that is down."""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET

from crawler.feed import atom_feed
from crawler.notify import message, send, valid_url

ATOM = "{http://www.w3.org/2005/Atom}"


def event(n: int, kind: str, title: str | None, **extra: object) -> dict[str, object]:
    return {
        "id": n,
        "at": f"2026-11-2{n}T10:00:00Z",
        "kind": kind,
        "url": f"http://127.0.0.2/a/{n}?x=1&y=2",
        "source": "ministry",
        "title": title,
        **extra,
    }


def test_feed_is_atom_with_escaped_titles_and_no_forbidden_characters() -> None:
    events = [
        event(3, "changed", "<b>&\"' 习近平 Путин\x07", diff="-old\n+new"),
        event(2, "moved", None, target="http://127.0.0.2/b"),
        event(1, "new", "Talks"),
    ]
    root = ET.fromstring(atom_feed(events).encode("utf-8"))
    assert root.tag == ATOM + "feed" and root.find(ATOM + "updated").text == "2026-11-23T10:00:00Z"  # type: ignore[union-attr]
    entries = root.findall(ATOM + "entry")
    assert len(entries) == 3 and len({e.find(ATOM + "id").text for e in entries}) == 3  # type: ignore[union-attr]
    assert entries[0].find(ATOM + "title").text == "changed: <b>&\"' 习近平 Путин"  # type: ignore[union-attr]
    assert entries[0].find(ATOM + "content").text == "-old\n+new"  # type: ignore[union-attr]
    assert "http://127.0.0.2/b" in entries[1].find(ATOM + "content").text  # type: ignore[union-attr,operator]
    assert entries[2].find(ATOM + "link").get("href") == "http://127.0.0.2/a/1?x=1&y=2"  # type: ignore[union-attr]
    assert all(e.find(f"{ATOM}author/{ATOM}name") is not None for e in entries)


def test_message_lists_events_by_kind_with_json() -> None:
    title, body = message([event(1, "gone", "A"), event(2, "new", "B"), event(3, "new", "C")])
    assert title == "readouts: 2 new, 1 gone"
    assert body.index("NEW") < body.index("GONE") and '"kind": "gone"' in body


def test_receiver_down_is_a_false_not_an_exception() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    started = time.monotonic()
    assert send([f"json://127.0.0.1:{port}/hook"], [event(1, "new", "A")]) is False
    assert time.monotonic() - started < 30
    assert send(["nosuchscheme://x"], [event(1, "new", "A")]) is False
    assert send([f"json://127.0.0.1:{port}/hook"], []) is True


def test_valid_url() -> None:
    assert valid_url("json://127.0.0.1:8080/hook") and valid_url("mailto://user:pass@example.org")
    assert not valid_url("nosuchscheme://x") and not valid_url("")
