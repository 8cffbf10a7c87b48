"""Timestamps as the archive stores them: ISO 8601, UTC, second precision."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # also SQLite's strftime format in queries comparing with stored times


def format_time(value: datetime) -> str:
    """Format a datetime the way the archive stores it (naive datetimes are taken as local time)."""
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(value: str) -> datetime:
    """Parse the archive's ISO 8601 UTC timestamps."""
    if len(value) == 20 and value[4] + value[7] + value[10] + value[13] + value[16] + value[19] == "--T::Z":
        # the stored form, read by fromisoformat (a fiftieth of strptime's CPU; a page's write parses two)
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value)
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


def utcnow() -> str:
    """Return the current time as an ISO 8601 UTC string like 2026-11-24T10:00:00Z."""
    return format_time(datetime.now(UTC))
