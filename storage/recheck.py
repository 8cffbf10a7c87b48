"""When a known page is due for a re-check: a ladder of growing intervals after it appeared or last changed."""

from __future__ import annotations

from datetime import timedelta

from storage.clock import format_time, parse_time

# readouts are edited mostly in their first days: check at these offsets after first seen (or last change)…
LADDER_SECONDS = (3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400)
# …then every `recheck_every` (a source key)
DEFAULT_RECHECK_EVERY = 30 * 86400.0


def next_check(base: str, now: str, recheck_every: float = DEFAULT_RECHECK_EVERY) -> str:
    """Return when a page checked at `now`, first seen or last changed at `base`, is next due."""
    start, checked = parse_time(base), parse_time(now)
    elapsed = (checked - start).total_seconds()
    for offset in LADDER_SECONDS:
        if offset > elapsed:
            return format_time(start + timedelta(seconds=offset))
    return format_time(checked + timedelta(seconds=recheck_every))
