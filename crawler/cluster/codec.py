"""Explicit JSON for what crosses Redis: bytes as base64, never pickle (the network is not trusted code).

Also scrapy-redis's SCHEDULER_SERIALIZER: a module with `dumps` and `loads`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from crawler.model import Extracted, Failure, FetchedPage
from spiders.pipeline import Extraction

_BYTES = "__b64__"
_PAIRS = "__pairs__"  # a dict whose keys are not all strings (Scrapy's headers have bytes keys)


def _encode(value: Any) -> Any:
    """Return the value with bytes tagged as base64 and non-string keys kept as pairs."""
    if isinstance(value, bytes | bytearray):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(v) for v in value]
    return value


def _hook(obj: dict[str, Any]) -> Any:
    """Decode a tagged base64 string back to bytes, and pairs back to a dict."""
    if len(obj) == 1 and _BYTES in obj:
        return base64.b64decode(obj[_BYTES])
    if len(obj) == 1 and _PAIRS in obj:
        return {k: v for k, v in obj[_PAIRS]}
    return obj


def dumps(obj: Any) -> bytes:
    """Return the JSON bytes of a record (bytes inside as base64)."""
    return json.dumps(_encode(obj), separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Return the record of dumps()'s bytes."""
    return json.loads(data, object_hook=_hook)


def page_record(page: FetchedPage) -> dict[str, Any]:
    """Return a fetched page as the plain record that crosses Redis (its fields, by name)."""
    return dataclasses.asdict(page)


def page_of(record: dict[str, Any]) -> FetchedPage:
    """Return the fetched page of a record (its other keys, the run's tags, are left out)."""
    fields = {f.name for f in dataclasses.fields(FetchedPage)}
    page = FetchedPage(**{k: v for k, v in record.items() if k in fields})
    # JSON has no tuples: header pairs come back as lists
    page.headers = [(str(k), str(v)) for k, v in page.headers]
    page.request_headers = [(str(k), str(v)) for k, v in page.request_headers]
    return page


def extraction_record(result: Extraction) -> dict[str, Any]:
    """Return a worker's extraction of a page as the plain record that crosses Redis with it."""
    if isinstance(result, Extracted):
        return {"kind": "extracted", **dataclasses.asdict(result)}
    if isinstance(result, Failure):
        return {"kind": "failure", "reason": result.reason}
    return {"kind": "lines", "lines": list(result)}


def extraction_of(record: dict[str, Any]) -> Extraction:
    """Return the extraction of extraction_record()'s record."""
    fields = {k: v for k, v in record.items() if k != "kind"}
    if record["kind"] == "extracted":
        return Extracted(**{**fields, "lines": tuple(fields["lines"])})
    if record["kind"] == "failure":
        return Failure(fields["reason"])
    return tuple(fields["lines"])
