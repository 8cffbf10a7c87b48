"""Unified diffs between two revisions of a text (one paragraph per line)."""

from __future__ import annotations

import difflib


def unified_diff(old: str, new: str, old_revision: int | str, new_revision: int | str) -> str:
    """Return a unified diff of two texts, labelled with their revision numbers."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"revision {old_revision}", f"revision {new_revision}", lineterm=""
    )
    return "\n".join(lines)
