"""Timestamps as the archive stores them: ISO 8601, UTC, second precision."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> str:
    """Return the current time as an ISO 8601 UTC string like 2026-11-24T10:00:00Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
