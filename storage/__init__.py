"""The archive in SQLite (sqlite-utils); knows nothing of Scrapy."""

from __future__ import annotations

import sys

# Imported by any storage module first, with NumPy and pandas hidden unless already loaded: sqlite-utils imports
# them only to name column types for their scalars when it creates a table from rows, and the archive's tables are
# created from Python types (storage.schema). Loading NumPy cost every re-check 0.1-0.3 s of CPU at start.
HIDDEN_FROM_SQLITE_UTILS = ("numpy", "pandas")


def _import_sqlite_utils() -> None:
    """Import sqlite_utils without letting it load what HIDDEN_FROM_SQLITE_UTILS names."""
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in HIDDEN_FROM_SQLITE_UTILS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not installed"
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]  # whoever needs NumPy later imports it as usual


_import_sqlite_utils()
