"""Notifications through Apprise: one message listing a crawl's change events, to any URL Apprise supports."""

from __future__ import annotations

import json
import logging
from typing import Any

import apprise

logger = logging.getLogger(__name__)

KIND_ORDER = ("new", "changed", "gone", "back", "moved")
# connection and read timeouts (seconds) for URLs that do not set their own, so a dead receiver costs little
_TIMEOUTS = {"cto": "3", "rto": "5"}
_SMALL_FIELDS = ("kind", "url", "source", "title", "at", "revision", "content_hash", "previous_hash", "target")


def _apprise() -> apprise.Apprise:
    """Return an Apprise instance that loads no user configuration."""
    return apprise.Apprise(asset=apprise.AppriseAsset(plugin_paths=[]))


def valid_url(url: str) -> bool:
    """Return True when Apprise understands the URL."""
    return bool(_apprise().add(url))


def _with_timeouts(url: str) -> str:
    """Add connection and read timeouts to a URL that sets none."""
    missing = [f"{k}={v}" for k, v in _TIMEOUTS.items() if f"{k}=" not in url]
    if not missing:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(missing)


def message(events: list[dict[str, Any]]) -> tuple[str, str]:
    """Return the title and body of the message announcing these events."""
    counts = {kind: sum(e["kind"] == kind for e in events) for kind in KIND_ORDER}
    title = "readouts: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = []
    for kind in KIND_ORDER:
        for event in (e for e in events if e["kind"] == kind):
            target = f" → {event['target']}" if event.get("target") else ""
            lines.append(f"{kind.upper():<8} {event.get('title') or '(no title)'} — {event['url']}{target}")
    small = [{k: e.get(k) for k in _SMALL_FIELDS} for e in events]
    lines += ["", "events:", json.dumps(small, ensure_ascii=False)]
    return title, "\n".join(lines)


def send(urls: list[str], events: list[dict[str, Any]]) -> bool:
    """Send one message about the events to every URL; return True when all were delivered. Never raises."""
    if not events:
        return True
    try:
        notifier = _apprise()
        valid = True
        for url in urls:
            if not notifier.add(_with_timeouts(url)) and not notifier.add(url):
                logger.warning("not a notification URL Apprise understands: %s", url)
                valid = False
        if not len(notifier):
            return False
        title, body = message(events)
        delivered = bool(notifier.notify(title=title, body=body))
        if not delivered:
            logger.warning("a notification of %d events was not delivered", len(events))
        return delivered and valid
    except Exception:
        logger.exception("notification failed")
        return False
