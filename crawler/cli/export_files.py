"""Export made safe for where it goes: text files named safely from the date, title and hash; CSV cells as text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SLUG_CHARS = 60
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)
# a cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def slug(title: str | None) -> str:
    """Return a file-name-safe slug of a title: letters and digits of any script joined by '-', no path parts."""
    text = unicodedata.normalize("NFKC", title or "").replace("\0", "")
    words = _NOT_WORD.sub("-", text).strip("-_").lower()
    return words[:SLUG_CHARS].rstrip("-_") or "untitled"


def spreadsheet_cell(value: Any) -> Any:
    """Return a CSV cell a spreadsheet shows as text: a string starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def file_name(record: dict[str, Any]) -> str:
    """Return the file name of a document: DATE-SLUG-HASH.txt (the hash keeps names unique)."""
    date = record.get("published") or "undated"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        date = "undated"
    return f"{date}-{slug(record.get('title'))}-{str(record['content_hash'])[:12]}.txt"


def write_documents(rows: Iterable[dict[str, Any]], folder: Path) -> list[Path]:
    """Write one text file per document (a header of title, date and copies, then the text) under folder."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    documents: dict[Any, dict[str, Any]] = {}
    for row in rows:
        doc = documents.setdefault(row["document_id"], {**row, "urls": []})
        doc["urls"].append(f"{row['source']}: {row['url']}")
    written = []
    for doc in documents.values():
        path = (root / file_name(doc)).resolve()
        if path.parent != root:  # cannot happen with slug(); kept as the guarantee the name never leaves the folder
            raise ValueError(f"refusing to write outside {root}: {path}")
        header = [f"Title: {doc['title'] or ''}", f"Published: {doc['published'] or ''}"]
        header += [f"Copy: {url}" for url in doc["urls"]]
        path.write_text("\n".join([*header, "", doc["text"] or "", ""]), encoding="utf-8")
        written.append(path)
    return written
