"""The exceptions readouts raises, in one place (the archive's own are defined in storage/errors.py, which
imports nothing of the crawler, and listed here).

ReadoutsError
├── ConfigError        a sources file that cannot be used (exit 2, naming the source and key)
├── Busy               a lock held by another process: a crawl of that source, the archive's daemon
├── NotADemoArchive    `readouts demo` refusing to replace a file it did not make
└── DecodeError        a body that decodes as text in no plausible encoding (also a ValueError)
ArchiveError           storage/errors.py
├── SearchError        an empty query or bad full-text syntax (also a ValueError)
└── NotFound           no revisions of a URL, no such revision, no capture (also a LookupError)
"""

from __future__ import annotations

from storage.errors import ArchiveError, NotFound, SearchError

__all__ = [
    "ArchiveError",
    "Busy",
    "ConfigError",
    "DecodeError",
    "NotADemoArchive",
    "NotFound",
    "ReadoutsError",
    "SearchError",
]


class ReadoutsError(Exception):
    """Base class of every error readouts reports to its user."""


class ConfigError(ReadoutsError):
    """A sources file that cannot be used: names the source and the key at fault."""

    def __init__(self, source: str, key: str, message: str) -> None:
        """Keep the source and key, and build the message shown to the user."""
        self.source, self.key = source, key
        where = " ".join(p for p in (f"source {source!r}" if source else "", f"key {key!r}" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class Busy(ReadoutsError):
    """The lock is held by another process."""

    def __init__(self, what: str, pid: int | None) -> None:
        """Name what is locked and the holder's PID (when known)."""
        self.what, self.pid = what, pid
        super().__init__(f"{what} is held by process {pid if pid else '(unknown)'}")


class NotADemoArchive(ReadoutsError):
    """The target file exists and is not an archive made by `readouts demo`."""


class DecodeError(ReadoutsError, ValueError):
    """The body could not be decoded as text in any plausible encoding."""
