"""Which words of a changed paragraph changed: the runs a diff highlights inside a line."""

from __future__ import annotations

import difflib
import re

Runs = list[tuple[str, bool]]  # (text, changed)
_TOKENS = re.compile(r"\S+|\s+")


def word_changes(old: str, new: str) -> tuple[Runs, Runs]:
    """Split two versions of a paragraph into runs of words, each marked changed or not, for the old and the new."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: Runs = []
    right: Runs = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            _add(left, "".join(a[i1:i2]), tag != "equal")
        if j2 > j1:
            _add(right, "".join(b[j1:j2]), tag != "equal")
    return left, right


def words_changed(old: str, new: str) -> tuple[int, int]:
    """Return how many words the new text adds and how many of the old it removes."""
    a, b = old.split(), new.split()
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed, added = removed + i2 - i1, added + j2 - j1
    return added, removed


def _add(runs: Runs, text: str, changed: bool) -> None:
    """Append a run, merged with the previous one when both are alike (spaces between changed words stay inside)."""
    if runs and (runs[-1][1] == changed or (not changed and text.isspace() and runs[-1][1])):
        runs[-1] = (runs[-1][0] + text, runs[-1][1])
    else:
        runs.append((text, changed))


def line_runs(lines: list[str]) -> list[Runs]:
    """Return each line of a unified diff as runs, the words that changed marked in each removed line and the added
    line that replaced it (removed and added lines of a block paired in order); other lines are one unchanged run."""
    out: list[Runs] = [[(line, False)] for line in lines]
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _is(lines[j], "-"):
            j += 1
        k = j
        while k < len(lines) and _is(lines[k], "+"):
            k += 1
        for r, a in zip(range(i, j), range(j, k), strict=False):
            left, right = word_changes(lines[r][1:], lines[a][1:])
            out[r], out[a] = [("-", False), *left], [("+", False), *right]
        i = max(k, i + 1)
    return out


def _is(line: str, sign: str) -> bool:
    """Whether a diff line is a removed ("-") or added ("+") line, not a file header."""
    return line.startswith(sign) and not line.startswith(sign * 3)
