"""The Atom feed of change events: namespace, one entry per event, escaping, forbidden characters, contents."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from crawler.monitor.feed import atom_feed

NS = "http://www.w3.org/2005/Atom"
ATOM = f"{{{NS}}}"
HOSTILE = "<b>&\"' 习近平 Путин"
DIFF = "--- a\n+++ b\n@@ -1 +1 @@\n-Talks in <Beijing> & Moscow\n+Talks in Beijing"


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
        "previous_hash": "p" * 8,
        "content_hash": "c" * 8,
        "diff": None,
        "target": None,
    }
    return base | extra


def parse(xml: str) -> ET.Element:
    """Parse the feed as bytes, the way a feed reader receives it."""
    return ET.fromstring(xml.encode("utf-8"))


def text(element: ET.Element, path: str) -> str:
    """Return the text of the child at an Atom path ("a/b"), failing when it is missing."""
    found = element.find("/".join(ATOM + part for part in path.split("/")))
    assert found is not None, path
    return found.text or ""


def entries(xml: str) -> list[ET.Element]:
    """Return the feed's entries."""
    return parse(xml).findall(ATOM + "entry")


def all_kinds() -> list[dict[str, Any]]:
    """Return one event of every kind, newest first."""
    return [
        event(5, "moved", "Moved page", target="http://127.0.0.2/b/5.html"),
        event(4, "back", "Back again"),
        event(3, "gone", None),
        event(2, "changed", HOSTILE, diff=DIFF),
        event(1, "new", "First talks", text="The two ministers met in Beijing."),
    ]


def test_document_is_atom_with_declaration_and_one_entry_per_event() -> None:
    xml = atom_feed(all_kinds())
    assert xml.startswith("<?xml") and "utf-8" in xml.splitlines()[0].lower()
    root = parse(xml)
    assert root.tag == ATOM + "feed"
    assert text(root, "id") == "urn:readouts:changes" and text(root, "title") == "readouts: changes"
    found = root.findall(ATOM + "entry")
    assert len(found) == 5
    ids = [text(e, "id") for e in found]
    assert len(set(ids)) == 5 and ids[0] == "urn:readouts:changes:event:5"
    for entry in found:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text(entry, "updated"))
        assert text(entry, "author/name") == "ministry"


def test_entry_fields() -> None:
    moved, back, gone, changed, new = entries(atom_feed(all_kinds()))
    assert text(new, "title") == "new: First talks"
    assert text(new, "updated") == "2026-11-11T10:00:00Z"
    link = new.find(ATOM + "link")
    assert link is not None and link.get("rel") == "alternate"
    assert link.get("href") == "http://127.0.0.2/a/1.html?x=1&y=2"
    category = changed.find(ATOM + "category")
    assert category is not None and category.get("term") == "changed"
    assert text(gone, "title") == "gone: http://127.0.0.2/a/3.html?x=1&y=2"  # no title: the URL stands in
    for entry in (moved, back, gone, changed, new):
        content = entry.find(ATOM + "content")
        assert content is not None and content.get("type") == "text" and content.text


def test_titles_are_escaped_and_round_trip() -> None:
    xml = atom_feed([event(1, "new", HOSTILE), event(2, "new", "A < B && C > D")])
    assert "<b>&" not in xml  # escaped in the document text
    first, second = entries(xml)
    assert text(first, "title") == f"new: {HOSTILE}"
    assert text(second, "title") == "new: A < B && C > D"


def test_characters_xml_forbids_are_removed() -> None:
    dirty = "Talks\x00 in\x07 Beijing\x1b\x0b\x0c\ufffe"
    events = [
        event(1, "changed", dirty, diff="-a\x01\n+b\x08", source="min\x02istry"),
        event(2, "new", None, text="x\x1fy"),
    ]
    changed, new = entries(atom_feed(events, title="feed\x03"))
    assert text(changed, "title") == "changed: Talks in Beijing"
    assert text(changed, "content") == "-a\n+b"
    assert text(changed, "author/name") == "ministry"
    assert text(new, "content") == "xy"
    allowed = "tab\there\nnewline"
    assert text(entries(atom_feed([event(1, "new", None, text=allowed)]))[0], "content") == allowed


def test_contents_by_kind() -> None:
    moved, back, gone, changed, new = entries(atom_feed(all_kinds()))
    assert text(changed, "content") == DIFF  # the unified diff, markup and all, unescaped by the parser
    assert "http://127.0.0.2/b/5.html" in text(moved, "content")
    assert text(new, "content") == "The two ministers met in Beijing."  # the text when given
    assert "gone" in text(gone, "content") and "http://127.0.0.2/a/3.html" in text(gone, "content")
    assert "Back again" in text(back, "content")


def test_feed_updated_is_given_newest_or_now() -> None:
    events = [event(2, "new"), event(7, "gone"), event(4, "back")]
    assert text(parse(atom_feed(events)), "updated") == "2026-11-17T10:00:00Z"
    assert text(parse(atom_feed(events, updated="2027-01-01T00:00:00Z")), "updated") == "2027-01-01T00:00:00Z"
    before = datetime.now(UTC).replace(microsecond=0)
    empty = parse(atom_feed([]))
    stamp = datetime.fromisoformat(text(empty, "updated").replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) and empty.findall(ATOM + "entry") == []


def test_every_entry_has_an_author() -> None:
    events = [event(1, "new", source=None), event(2, "new", source="")]
    missing = event(3, "new")
    del missing["source"]
    for entry in entries(atom_feed([*events, missing])):
        assert text(entry, "author/name") == "readouts"


def test_custom_title_and_id() -> None:
    root = parse(atom_feed([event(1, "new")], title="ministry & embassy", feed_id="urn:x:y"))
    assert text(root, "title") == "ministry & embassy" and text(root, "id") == "urn:x:y"
    assert text(root, "entry/id") == "urn:x:y:event:1"
