"""The Atom feed of change events: namespace, one entry per event, escaping, forbidden characters, contents."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from crawler.extraction.fingerprint import content_hash
from crawler.monitor.feed import atom_feed
from storage.archive import Archive, ArticleText, PageRecord
from storage.identity import Identity

NS = "http://www.w3.org/2005/Atom"
ATOM = f"{{{NS}}}"
HOSTILE = "<b>&\"' 习近平 Путин"
ARCHIVE = Identity("5f0c1e52-1d7e-4d8e-9c51-3b1b2a6f0a11", "2026-11-01T09:00:00Z")
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
    xml = atom_feed(ARCHIVE, all_kinds())
    assert xml.startswith("<?xml") and "utf-8" in xml.splitlines()[0].lower()
    root = parse(xml)
    assert root.tag == ATOM + "feed"
    assert text(root, "id") == f"{ARCHIVE.tag}/changes" and text(root, "title") == "readouts: changes"
    found = root.findall(ATOM + "entry")
    assert len(found) == 5
    ids = [text(e, "id") for e in found]
    assert len(set(ids)) == 5 and ids[0] == f"{ARCHIVE.tag}/event/5"
    for entry in found:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text(entry, "updated"))
        assert text(entry, "author/name") == "ministry"


def test_entry_fields() -> None:
    moved, back, gone, changed, new = entries(atom_feed(ARCHIVE, all_kinds()))
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
    xml = atom_feed(ARCHIVE, [event(1, "new", HOSTILE), event(2, "new", "A < B && C > D")])
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
    changed, new = entries(atom_feed(ARCHIVE, events, title="feed\x03"))
    assert text(changed, "title") == "changed: Talks in Beijing"
    assert text(changed, "content") == "-a\n+b"
    assert text(changed, "author/name") == "ministry"
    assert text(new, "content") == "xy"
    allowed = "tab\there\nnewline"
    assert text(entries(atom_feed(ARCHIVE, [event(1, "new", None, text=allowed)]))[0], "content") == allowed


def test_contents_by_kind() -> None:
    moved, back, gone, changed, new = entries(atom_feed(ARCHIVE, all_kinds()))
    assert text(changed, "content") == DIFF  # the unified diff, markup and all, unescaped by the parser
    assert "http://127.0.0.2/b/5.html" in text(moved, "content")
    assert text(new, "content") == "The two ministers met in Beijing."  # the text when given
    assert "gone" in text(gone, "content") and "http://127.0.0.2/a/3.html" in text(gone, "content")
    assert "Back again" in text(back, "content")


def test_feed_updated_is_given_newest_or_now() -> None:
    events = [event(2, "new"), event(7, "gone"), event(4, "back")]
    assert text(parse(atom_feed(ARCHIVE, events)), "updated") == "2026-11-17T10:00:00Z"
    assert text(parse(atom_feed(ARCHIVE, events, updated="2027-01-01T00:00:00Z")), "updated") == "2027-01-01T00:00:00Z"
    before = datetime.now(UTC).replace(microsecond=0)
    empty = parse(atom_feed(ARCHIVE, []))
    stamp = datetime.fromisoformat(text(empty, "updated").replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) and empty.findall(ATOM + "entry") == []


def test_every_entry_has_an_author() -> None:
    events = [event(1, "new", source=None), event(2, "new", source="")]
    missing = event(3, "new")
    del missing["source"]
    for entry in entries(atom_feed(ARCHIVE, [*events, missing])):
        assert text(entry, "author/name") == "readouts"


def test_custom_title_and_ids() -> None:
    root = parse(atom_feed(ARCHIVE, [event(1, "new")], title="ministry & embassy"))
    tag = "tag:readouts,2026-11-01:archive/5f0c1e52-1d7e-4d8e-9c51-3b1b2a6f0a11"
    assert text(root, "title") == "ministry & embassy" and text(root, "id") == f"{tag}/changes"
    assert text(root, "entry/id") == f"{tag}/event/1"
    filtered = parse(atom_feed(ARCHIVE, [event(1, "new")], kinds=("new", "changed"), source="mfa"))
    assert text(filtered, "id") == f"{tag}/changes?kind=changed&kind=new&source=mfa"  # its own id, in a fixed order
    assert text(filtered, "entry/id") == f"{tag}/event/1"  # an event keeps its id in every feed


def _archive_with_events(path: Path, n: int) -> None:
    """An archive where n pages were seen for the first time (n "new" events)."""
    store = Archive(path)
    for i in range(n):
        text_ = f"Readout {i} of {path.stem}: the ministers held talks."
        art = ArticleText(content_hash(text_), text_, title=f"Talks {i}", published="2026-11-01")
        url = f"http://127.0.0.2/{i}.html"
        store.record(PageRecord(url=url, source="mfa", host="127.0.0.2", status=200, article=art))
    store.close()


def test_two_archives_feeds_share_no_id(tmp_path: Path, readouts: Any) -> None:
    parsed = {}
    for name in ("one", "two"):
        db = tmp_path / f"{name}.db"
        _archive_with_events(db, 3)  # the same URLs and event numbers in both archives
        for args in ((), ("--kind", "new"), ("--source", "mfa")):
            result = readouts("feed", *args, db=db)
            assert result.code == 0, result.err
            parsed[name, args] = feedparser.parse(result.out)
    for feed in parsed.values():
        assert not feed.bozo and len(feed.entries) == 3
        assert feed.feed.id.startswith("tag:readouts,") and all(e.id.startswith("tag:readouts,") for e in feed.entries)
    one, two = parsed["one", ()], parsed["two", ()]
    ids = lambda feed: {feed.feed.id} | {e.id for e in feed.entries}  # noqa: E731
    assert not ids(one) & ids(two)  # two archives: nothing in common, though their events are numbered alike
    feed_ids = {feed.feed.id for feed in parsed.values()}
    assert len(feed_ids) == 6  # each filtered feed of each archive has its own id
    assert {e.id for e in parsed["one", ("--kind", "new")].entries} == {e.id for e in one.entries}
    again = feedparser.parse(readouts("feed", db=tmp_path / "one.db").out)
    assert again.feed.id == one.feed.id and [e.id for e in again.entries] == [e.id for e in one.entries]  # permanent
