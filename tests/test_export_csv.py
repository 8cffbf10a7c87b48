"""CSV export a spreadsheet cannot run: formula-like cells are written as text; JSONL keeps the exact text."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.cli.export_files import spreadsheet_cell
from crawler.extraction.fingerprint import content_hash
from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import subprocess_env

HOSTILE = [
    '=HYPERLINK("http://127.0.0.9/x","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(v, "'" + v) for v in HOSTILE],
        ("Xi Jinping holds talks", "Xi Jinping holds talks"),
        ("a=b", "a=b"),  # only the first character counts
        ("'=already quoted", "'=already quoted"),
        ("", ""),
        (None, None),
        (-5, -5),  # numbers stay numbers
    ],
)
def test_spreadsheet_cell(value: Any, expected: Any) -> None:
    assert spreadsheet_cell(value) == expected


def test_hostile_titles_round_trip_as_text(tmp_path: Path, readouts: Any) -> None:
    db = tmp_path / "a.db"
    store = Archive(db)
    for i, title in enumerate(HOSTILE):
        text = f"{title} is how readout {i} begins."
        art = ArticleText(content_hash(text), text, title=title, published="2026-11-01")
        url = f"http://127.0.0.2/{i}.html"
        store.record(PageRecord(url=url, source="mfa", host="127.0.0.2", status=200, article=art))
    store.close()
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "export", "--format", "csv"]
    done = subprocess.run(cmd, capture_output=True, timeout=60, env=subprocess_env())  # bytes: "\r" kept as sent
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode("utf-8"), newline="")))
    assert [r["title"] for r in rows] == ["'" + t for t in HOSTILE]  # shown as text, the original after the quote
    assert [r["text"] for r in rows] == [f"'{t} is how readout {i} begins." for i, t in enumerate(HOSTILE)]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r.values())
    exact = readouts("export", "--format", "jsonl", db=db).jsonl()
    assert [r["title"] for r in exact] == HOSTILE  # JSONL keeps the exact text
