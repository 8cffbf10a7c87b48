"""WARC records as other crawlers write them, for the import and backfill tests."""

from __future__ import annotations

import io

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.warc import payload_digest


def write_response(writer: WARCWriter, url: str, date: str, body: bytes, revisit_of: str | None = None) -> None:
    """Write an HTML 200 response captured at `date`, or a revisit of `revisit_of`'s capture of the same body."""
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
    if revisit_of is None:
        record = writer.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
    else:
        record = writer.create_revisit_record(
            url, payload_digest(body), revisit_of, date, http_headers=http, warc_headers_dict={"WARC-Date": date}
        )
    writer.write_record(record)
