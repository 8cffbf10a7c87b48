"""The exceptions readouts raises, in one place."""

from __future__ import annotations


class ReadoutsError(Exception):
    """Base class of every error readouts reports to its user."""


class ConfigError(ReadoutsError):
    """A sources file that cannot be used: names the source and the key at fault."""

    def __init__(self, source: str, key: str, message: str) -> None:
        """Keep the source and key, and build the message shown to the user."""
        self.source, self.key = source, key
        where = " ".join(p for p in (f"source {source!r}" if source else "", f"key {key!r}" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
