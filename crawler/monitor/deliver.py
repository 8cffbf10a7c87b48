"""Deliver change events to the sources' notification URLs; undelivered events stay pending for the next try."""

from __future__ import annotations

import logging
from collections import defaultdict

from crawler.config.sources import Source
from storage import changes
from storage.archive import Archive
from storage.clock import utcnow

logger = logging.getLogger(__name__)


def deliver(archive: Archive, sources: list[Source], since: str | None = None) -> tuple[int, int]:
    """Send events of these sources (pending ones, or all since `since`): one message per group of URLs.

    Returns (events delivered, events still pending). A failed delivery is logged, never raised.
    """
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for source in sources:
        if source.notify:
            groups[source.notify].append(source.name)
    delivered = pending = 0
    for urls, names in groups.items():
        found = changes.events(archive.db, since=since, sources=names, pending=since is None, live=True)
        if not found:
            continue
        from crawler.monitor.notify import (
            send,  # Apprise loads its plugins on import: only when there is something to send
        )

        public_url = next((s.public_url for s in sources if s.public_url), None)
        if send(list(urls), found, public_url):
            changes.mark_notified(archive.db, [e["id"] for e in found], utcnow())
            delivered += len(found)
        else:
            logger.warning("notification of %d events to %d URLs failed; they stay pending", len(found), len(urls))
            pending += len(found)
    return delivered, pending
