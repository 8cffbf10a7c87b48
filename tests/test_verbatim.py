"""Which imported response records the archive's WARC store copies byte for byte: one rule a case."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crawler.history.verbatim import Recorded, Verbatim, verbatim
from storage.warc import payload_digest

URL, AT, BODY = "http://127.0.0.9/a/1.html", "2020-01-01T10:00:00Z", b"<html><p>Talks</p></html>"
COPYABLE = Recorded(
    member=b"\x1f\x8b\x08\x00rest of the gzip member",
    rec_type="response",
    target=URL,
    date=AT,
    digest=payload_digest(BODY),
    record_id="<urn:uuid:1>",
    http_headers=[("Content-Type", "text/html"), ("Content-Length", str(len(BODY)))],
    standalone=True,
)


def test_a_record_that_is_what_the_store_would_write_is_copied_as_it_is() -> None:
    assert verbatim(COPYABLE, URL, AT, BODY) == Verbatim(COPYABLE.member, "<urn:uuid:1>")
    identity = replace(COPYABLE, http_headers=[("Content-Encoding", " Identity ")])
    assert verbatim(identity, URL, AT, BODY) is not None  # no encoding at all


@pytest.mark.parametrize(
    "changed",
    [
        {"member": b"WARC/1.1\r\nWARC-Type: response\r\n"},  # an uncompressed file's record: no gzip member
        {"rec_type": "revisit"},
        {"target": "http://127.0.0.9/a/1.html?utm_source=x"},  # the archive's URL is the canonical one
        {"date": "2020-01-02T10:00:00Z"},  # a revisit's original read for the revisit's own capture time
        {"digest": "sha256:" + "0" * 64},  # another algorithm: our revisits would cite another digest
        {"digest": payload_digest(b"another body")},
        {"http_headers": [("Transfer-Encoding", "chunked")]},  # the payload still framed
        {"http_headers": [("Content-Encoding", "gzip")]},  # the payload is not the body hashed
        {"standalone": False},  # points to a warcinfo or request record of its own file
    ],
)
def test_any_other_record_is_written_anew(changed: dict[str, object]) -> None:
    assert verbatim(replace(COPYABLE, **changed), URL, AT, BODY) is None  # type: ignore[arg-type]
