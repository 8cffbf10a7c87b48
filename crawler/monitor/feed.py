"""An Atom 1.0 feed of change events (ElementTree builds it, so every text is escaped)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from storage.clock import utcnow
from storage.identity import Identity, entry_id, feed_id

ATOM_NS = "http://www.w3.org/2005/Atom"
# characters XML 1.0 forbids
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: object) -> str:
    """Return text without characters XML cannot hold."""
    return _FORBIDDEN.sub("", str(text))


def _sub(parent: ET.Element, tag: str, text: object = None, **attrs: str) -> ET.Element:
    """Add a child element in the Atom namespace."""
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _content(event: dict[str, Any]) -> str:
    """Return an entry's text: the diff, the redirect target, the text, or a one-line description."""
    if event["kind"] == "changed" and event.get("diff"):
        return str(event["diff"])
    if event["kind"] == "moved" and event.get("target"):
        return f"moved to {event['target']}"
    if event.get("text"):
        return str(event["text"])
    return f"{event['kind']}: {event.get('title') or event['url']} ({event.get('source') or 'readouts'})"


def atom_feed(
    archive: Identity,
    events: list[dict[str, Any]],
    kinds: tuple[str, ...] = (),
    source: str | None = None,
    title: str = "readouts: changes",
    updated: str | None = None,
) -> str:
    """Return an Atom document with one entry per event (given newest first) of the feed of these filters.

    Ids are tag: URIs of the archive's identity (RFC 4287 4.2.6): another archive never shares one, and a filtered
    feed (kinds, source) has its own feed id while an event keeps its entry id in every feed.
    """
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(feed, "id", feed_id(archive, kinds, source))
    _sub(feed, "title", title)
    newest = max((e["at"] for e in events), default=None)
    _sub(feed, "updated", updated or newest or utcnow())
    _sub(_sub(feed, "author"), "name", "readouts")
    _sub(feed, "generator", "readouts")
    for event in events:
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(archive, event["id"]))
        _sub(entry, "title", f"{event['kind']}: {event.get('title') or event['url']}")
        _sub(entry, "updated", event["at"])
        _sub(entry, "link", href=event["url"], rel="alternate")
        _sub(entry, "category", term=event["kind"])
        _sub(_sub(entry, "author"), "name", event.get("source") or "readouts")
        _sub(entry, "content", _content(event), type="text")
    return ET.tostring(feed, encoding="unicode", xml_declaration=False).join(
        ['<?xml version="1.0" encoding="utf-8"?>\n', "\n"]
    )
