"""Intervals as the sources file writes them ("90s", "6h", "1d"), parsed once, and every default written once."""

from __future__ import annotations

import re

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_interval(value: str) -> float:
    """Return the number of seconds in an interval such as "90s", "15m", "6h", "1d", "2w"."""
    match = _INTERVAL.match(value) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{value!r} is not an interval like '30m', '6h' or '1d'")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class Interval(str):
    """An interval as written (shown and serialised as its text) that knows its seconds; ValueError if malformed."""

    seconds: float

    def __new__(cls, text: str) -> Interval:
        """Parse the text once."""
        seconds = parse_interval(text)
        interval = super().__new__(cls, text)
        interval.seconds = seconds
        return interval


# the defaults of the sources file's interval keys (storage keeps its own re-check default: it imports no config)
DEFAULT_TIMEOUT = Interval("1h")  # a scheduled crawl running longer is ended and recorded failed
DEFAULT_STALE_AFTER = Interval("14d")  # `readouts sources` alerts when no new article came for this long
DEFAULT_RECHECK_EVERY = Interval("30d")  # known pages are re-checked this often once past the ladder
DEFAULT_PAGE_TIMEOUT = Interval("60s")  # one download attempt of a page
DEFAULT_EXTRACT_TIMEOUT = Interval("30s")  # extracting one page's text in a worker
