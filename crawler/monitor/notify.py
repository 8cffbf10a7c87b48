"""Notifications: webhooks (json://, jsons://) get the events as a JSON list; chat and mail get a short message.

Apprise's own json:// body carries one `message` string, so a program would have to parse text out of it. readouts
posts its JSON body itself (standard library) to json:// and jsons:// URLs, keeping Apprise's keys (version, title,
message, type) and adding `events`, a list of objects; every other Apprise URL (Discord, Telegram, mail, form://, …)
gets a human message kept under the chat services' limits (Discord 2,000 characters, Telegram 4,096).
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import apprise

logger = logging.getLogger(__name__)

KIND_ORDER = ("new", "changed", "gone", "back", "moved")
WEBHOOK_SCHEMES = {"json": "http", "jsons": "https"}
# connection and read timeouts (seconds) for URLs that do not set their own, so a dead receiver costs little
_TIMEOUTS = {"cto": "3", "rto": "5"}
# under Discord's 2,000 characters with room for the title Apprise puts before the body
CHAT_LIMIT = 1800
_LINE_LIMIT = 300
HISTORY_PATH = "/-/readouts/history"


@dataclass(frozen=True)
class WebhookEvent:
    """One change event as a webhook receives it."""

    event_id: int
    kind: str
    url: str
    title: str | None
    source: str | None
    at: str
    document_id: int | None
    revision_id: int | None
    revision: int | None
    content_hash: str | None
    previous_hash: str | None
    target: str | None  # where a moved page now redirects
    history_url: str | None  # the page's history in `readouts serve`, when its public URL is configured
    diff_url: str | None  # for a change: the diff of this revision in that history


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


def is_webhook(url: str) -> bool:
    """Return True for the URLs that get the JSON body (json://, jsons://)."""
    return url.split("://", 1)[0].lower() in WEBHOOK_SCHEMES


def webhook_event(event: dict[str, Any], public_url: str | None = None) -> WebhookEvent:
    """Return the webhook record of a stored event; links into `readouts serve` when its public URL is known."""
    history = diff = None
    if public_url:
        history = f"{public_url.rstrip('/')}{HISTORY_PATH}?url={quote(event['url'], safe='')}"
        if event["kind"] == "changed" and event.get("revision"):
            diff = f"{history}#revision-{int(event['revision'])}"
    return WebhookEvent(
        event_id=int(event["id"]),
        kind=event["kind"],
        url=event["url"],
        title=event.get("title"),
        source=event.get("source"),
        at=event["at"],
        document_id=event.get("document_id"),
        revision_id=event.get("revision_id"),
        revision=event.get("revision"),
        content_hash=event.get("content_hash"),
        previous_hash=event.get("previous_hash"),
        target=event.get("target"),
        history_url=history,
        diff_url=diff,
    )


def message(events: list[dict[str, Any]], limit: int = CHAT_LIMIT) -> tuple[str, str]:
    """Return the title and the human body announcing these events, the body at most `limit` characters."""
    counts = {kind: sum(e["kind"] == kind for e in events) for kind in KIND_ORDER}
    title = "readouts: " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = []
    for kind in KIND_ORDER:
        for event in (e for e in events if e["kind"] == kind):
            target = f" → {event['target']}" if event.get("target") else ""
            line = f"{kind.upper():<8} {event.get('title') or '(no title)'} — {event['url']}{target}"
            lines.append(line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 1] + "…")
    body: list[str] = []
    for i, line in enumerate(lines):
        rest = len(lines) - i
        more = f"… and {rest} more (readouts changes)"
        if sum(len(x) + 1 for x in body) + len(line) + (len(more) + 1 if rest > 1 else 0) > limit:
            body.append(more)
            break
        body.append(line)
    return title, "\n".join(body)


def webhook_body(events: list[dict[str, Any]], public_url: str | None = None) -> dict[str, Any]:
    """Return the JSON body a webhook receives: Apprise's json:// keys plus `events`, a list of objects."""
    title, text = message(events)
    records = [asdict(webhook_event(e, public_url)) for e in events]
    return {"version": "1.0", "title": title, "message": text, "type": "info", "events": records}


def _post(url: str, body: dict[str, Any]) -> bool:
    """POST the JSON body to the http(s) address of a json:// or jsons:// URL; return True on a 2xx answer."""
    parts = urlsplit(url)
    # Apprise's query keys keep a literal "+" (+Header=value), so no form decoding of "+" as a space
    query = {unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)}
    netloc = parts.hostname or ""
    netloc = f"[{netloc}]" if ":" in netloc else netloc
    address = f"{WEBHOOK_SCHEMES[parts.scheme.lower()]}://{netloc}{f':{parts.port}' if parts.port else ''}"
    request = urllib.request.Request(address + (parts.path or "/"), method="POST")
    request.data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("User-Agent", "readouts")
    for key, value in query.items():  # Apprise's +Header=value convention
        if key.startswith("+") and len(key) > 1:
            request.add_header(key[1:], value)
    if parts.username:
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(login).decode("ascii"))
    timeout = float(query.get("rto", _TIMEOUTS["rto"])) + float(query.get("cto", _TIMEOUTS["cto"]))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return 200 <= answer.status < 300
    except (OSError, ValueError) as exc:
        logger.warning("webhook %s failed: %s", address, exc)
        return False


def send(urls: list[str], events: list[dict[str, Any]], public_url: str | None = None) -> bool:
    """Send the events to every URL (webhooks: JSON; others: a message); True when all got them. Never raises."""
    if not events:
        return True
    try:
        delivered = valid = True
        chats = _apprise()
        for url in urls:
            if is_webhook(url) and valid_url(url):
                delivered = _post(url, webhook_body(events, public_url)) and delivered
            elif not chats.add(_with_timeouts(url)) and not chats.add(url):
                logger.warning("not a notification URL Apprise understands: %s", url)
                valid = False
        if len(chats):
            title, body = message(events)
            delivered = bool(chats.notify(title=title, body=body)) and delivered
        if not delivered:
            logger.warning("a notification of %d events was not delivered", len(events))
        return delivered and valid
    except Exception:
        logger.exception("notification failed")
        return False
