"""Whether an imported response record can go into the archive's WARC files byte for byte, as its file holds it.

A record that already is what `WarcStore.write` would write for the page (one gzip member, the page's URL and capture
time, our digest of a payload stored as received) is copied, not decoded, encoded and compressed again: the
import's largest cost after extraction. Any other record is written anew.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.warc import payload_digest

GZIP_MAGIC = b"\x1f\x8b"  # the store's files hold one gzip member a record
# headers naming other records (of the file it came from: its warcinfo, its request) or a partial payload
ELSEWHERE = (
    "WARC-Warcinfo-ID",
    "WARC-Concurrent-To",
    "WARC-Refers-To",
    "WARC-Segment-Number",
    "WARC-Truncated",
)


@dataclass(frozen=True)
class Recorded:
    """A response record as read from its file: its bytes there (one gzip member) and the headers the rules read."""

    member: bytes
    rec_type: str
    target: str  # WARC-Target-URI
    date: str  # WARC-Date, to the second as the archive stores times
    digest: str  # WARC-Payload-Digest
    record_id: str
    http_headers: list[tuple[str, str]]
    standalone: bool  # none of the ELSEWHERE headers: nothing in it points outside the record


@dataclass(frozen=True)
class Verbatim:
    """A response record to copy as is: its gzip member and its WARC-Record-ID (the request record points to it)."""

    member: bytes
    record_id: str


def verbatim(recorded: Recorded, url: str, captured_at: str, body: bytes) -> Verbatim | None:
    """Return the record to copy when the store would write the same capture for `url` at `captured_at` with this
    decoded `body`; None when it must be written anew."""
    fields = {k.lower(): v.strip().lower() for k, v in recorded.http_headers}
    if not recorded.member.startswith(GZIP_MAGIC) or recorded.rec_type != "response":
        return None
    if not recorded.standalone:  # copied alone, it would point to records the archive's files do not hold
        return None
    if recorded.target != url or recorded.date != captured_at:  # pywb replays a capture at its record's URL and time
        return None
    if "transfer-encoding" in fields or fields.get("content-encoding", "identity") != "identity":
        return None  # the payload is not the body the archive hashed: written decoded, with its length
    if recorded.digest != payload_digest(body):  # revisits cite this digest: pywb finds their original by it
        return None
    return Verbatim(recorded.member, recorded.record_id)
