"""Captures: article responses kept as WARC records (warcio), gzip per record, in rotating files. No SQLite here."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

MAX_FILE_BYTES = 1024**3  # a WARC file is closed and a new one started past this size
# headers that describe the transfer, not the body: the stored payload is the decoded body
_TRANSFER_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class CaptureRef:
    """Where one capture's record is: the WARC file (relative to the store), offset and length; the body's SHA-256."""

    file: str
    offset: int
    length: int
    sha256: str


@dataclass(frozen=True)
class Original:
    """The earlier capture of an identical body that a revisit record points to."""

    url: str
    fetched_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class Captured:
    """A capture read back: HTTP status, response headers and the exact body bytes."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    revisit: bool


def body_sha256(body: bytes) -> str:
    """Return the hex SHA-256 of a body."""
    return hashlib.sha256(body).hexdigest()


class WarcStore:
    """A folder of WARC files beside the archive; each writing process appends to its own file."""

    def __init__(self, directory: str | Path, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        """Use `directory` (created on first write) for WARC files."""
        self.directory = Path(directory)
        self.max_file_bytes = max_file_bytes
        self._file: io.BufferedWriter | None = None
        self._name = ""
        self._serial = 0

    def _open(self, stamp: str) -> tuple[io.BufferedWriter, str]:
        """Return the file to append to, starting a new one when none is open or the open one is full."""
        if self._file is not None and self._file.tell() >= self.max_file_bytes:
            self.close()
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._serial += 1
            compact = stamp.replace("-", "").replace(":", "").rstrip("Z")
            self._name = f"readouts-{compact}-{os.getpid()}-{self._serial:05d}.warc.gz"
            self._file = open(self.directory / self._name, "ab")  # noqa: SIM115 (kept open across records)
        return self._file, self._name

    def write(
        self,
        url: str,
        fetched_at: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        request_headers: list[tuple[str, str]],
        original: Original | None = None,
        metadata: dict[str, str] | None = None,
    ) -> CaptureRef:
        """Append a response (or, when `original` holds the same body, a revisit) record with its request record."""
        out, name = self._open(fetched_at)
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        digest = "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode("ascii")
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        kept = [(k, v) for k, v in headers if k.lower() not in _TRANSFER_HEADERS]
        http = StatusAndHeaders(f"{status} {reason}", [*kept, ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        date = {"WARC-Date": fetched_at}
        if original is None:
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=date
            )
        else:
            record = writer.create_revisit_record(
                url, digest, original.url, original.fetched_at, http_headers=http, warc_headers_dict=date
            )
        offset = out.tell()
        writer.write_record(record)
        length = out.tell() - offset
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        request = StatusAndHeaders(f"GET /{path} HTTP/1.1", request_headers, is_http_request=True)
        concurrent = {**date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")}
        writer.write_record(
            writer.create_warc_record(url, "request", http_headers=request, warc_headers_dict=concurrent)
        )
        if metadata:
            fields = "".join(f"{k}: {v}\r\n" for k, v in metadata.items()).encode("utf-8")
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "metadata",
                    payload=io.BytesIO(fields),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict=concurrent,
                )
            )
        out.flush()
        os.fsync(out.fileno())
        return CaptureRef(name, offset, length, body_sha256(body))

    def read(self, file: str, offset: int) -> Captured:
        """Read back the record at `offset` of `file`."""
        with open(self.directory / Path(file).name, "rb") as stream:
            stream.seek(offset)
            for record in ArchiveIterator(stream):
                http = record.http_headers
                body = record.content_stream().read()
                return Captured(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    status=int(http.get_statuscode()) if http else 0,
                    headers=list(http.headers) if http else [],
                    body=body,
                    revisit=record.rec_type == "revisit",
                )
        raise ValueError(f"no WARC record at {file}:{offset}")

    def close(self) -> None:
        """Close the open WARC file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def store_for(archive_path: str | Path) -> WarcStore:
    """Return the WARC store that belongs to an archive file: `<archive>.warc/` beside it."""
    path = Path(archive_path)
    return WarcStore(path.with_name(path.name + ".warc"))
