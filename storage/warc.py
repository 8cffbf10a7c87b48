"""Captures: article responses kept as WARC records (warcio), gzip per record, in rotating files. No SQLite here."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import brotli
import zstandard
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.warcwriter import WARCWriter

MAX_FILE_BYTES = 1024**3  # a WARC file is closed and a new one started past this size
# the download handler removes chunked framing, so the stored payload has none and its length is recomputed
_FRAMING_HEADERS = {"transfer-encoding", "content-length"}
# header names whose conventional spelling is not plain Title-Case (the HTTP layer hands names over re-cased)
_HEADER_CASE = {
    "etag": "ETag",
    "content-md5": "Content-MD5",
    "www-authenticate": "WWW-Authenticate",
    "x-xss-protection": "X-XSS-Protection",
    "x-ua-compatible": "X-UA-Compatible",
    "dnt": "DNT",
    "te": "TE",
    "p3p": "P3P",
}


@dataclass(frozen=True)
class CaptureRef:
    """Where one capture's record is (WARC file relative to the store, offset, length); the decoded body's SHA-256,
    the WARC payload digest of the stored bytes, and whether the record is a revisit."""

    file: str
    offset: int
    length: int
    sha256: str
    digest: str = ""
    revisit: bool = False


@dataclass(frozen=True)
class Original:
    """The earlier capture of an identical payload that a revisit record points to."""

    url: str
    fetched_at: str  # ISO 8601 UTC


@dataclass(frozen=True)
class Captured:
    """A capture read back: HTTP status, response headers, the payload as stored and the body it decodes to."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # Content-Encoding undone: what the extractor read
    revisit: bool
    payload: bytes = b""  # as it came over the wire (Content-Encoding kept, chunked framing removed)
    digest: str = ""  # the record's WARC-Payload-Digest


def body_sha256(body: bytes) -> str:
    """Return the hex SHA-256 of a body."""
    return hashlib.sha256(body).hexdigest()


def payload_digest(payload: bytes) -> str:
    """Return the WARC-Payload-Digest of a payload, for response and revisit records alike (warcio's SHA-1 base32).

    One algorithm everywhere: pywb finds a revisit's original by an equal digest string.
    """
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")


def header_case(name: str) -> str:
    """Return a header name in its conventional spelling (ETag, Content-Type, WWW-Authenticate)."""
    lower = name.lower()
    return _HEADER_CASE.get(lower) or "-".join(part[:1].upper() + part[1:] for part in lower.split("-"))


def decode_content(payload: bytes, encodings: list[str]) -> bytes:
    """Undo the Content-Encodings of a payload (gzip, deflate, br, zstd), last applied first; stop at an unknown one."""
    body = payload
    for coding in reversed([c.strip().lower() for value in encodings for c in value.split(",") if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:  # raw deflate, without the zlib wrapper, as some servers send it
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif coding == "br":
            body = brotli.decompress(body)
        elif coding == "zstd":
            body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
        elif coding != "identity":
            break  # the crawl kept it encoded too
    return body


def software() -> str:
    """Return the software line of the warcinfo records: readouts' and warcio's versions."""

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "unknown"

    return f"readouts/{of('readouts')} (warcio/{of('warcio')})"


class WarcStore:
    """A folder of WARC files beside the archive; each writing process appends to its own file."""

    def __init__(self, directory: str | Path, max_file_bytes: int = MAX_FILE_BYTES, archive: str = "") -> None:
        """Use `directory` (created on first write) for WARC files of the archive named `archive`."""
        self.directory = Path(directory)
        self.max_file_bytes = max_file_bytes
        self.archive = archive
        self._file: io.BufferedWriter | None = None
        self._name = ""
        self._serial = 0
        self._unsynced = False  # records written with sync=False and not yet on disk

    def _open(self, stamp: str) -> tuple[io.BufferedWriter, str]:
        """Return the file to append to; a new one (warcinfo first) when none is open or the open one is full."""
        if self._file is not None and self._file.tell() >= self.max_file_bytes:
            self.close()
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._serial += 1
            compact = stamp.replace("-", "").replace(":", "").rstrip("Z")
            self._name = f"readouts-{compact}-{os.getpid()}-{self._serial:05d}.warc.gz"
            self._file = open(self.directory / self._name, "ab")  # noqa: SIM115 (kept open across records)
            writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
            info = {
                "software": software(),
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
                "isPartOf": self.archive,
                "description": "HTTP 200 answers of article pages fetched by readouts; payloads as received"
                " (Content-Encoding kept, chunked framing removed)",
            }
            with _locked(self._file):
                writer.write_record(writer.create_warcinfo_record(self._name, info))
        return self._file, self._name

    def sync(self) -> None:
        """Put the records written without `sync` on disk (one fsync for many records)."""
        if self._file is not None and self._unsynced:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._unsynced = False

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
        wire: bytes | None = None,
        sync: bool = True,
        digest: str | None = None,
    ) -> CaptureRef:
        """Append a response (or, when `original` holds the same payload, a revisit) record with its request record.

        `body` is the decoded body; `wire` the payload as received when it came content-encoded (then `headers`
        carry its Content-Encoding). The record stores the payload as received. It is on disk when this returns,
        unless `sync` is False: then `sync()` must be called before the archive refers to it. `digest`: the
        payload's `payload_digest`, when the caller has it already.
        """
        payload = body if wire is None else wire
        digest = digest or payload_digest(payload)
        out, name = self._open(fetched_at)
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
        kept = [(header_case(k), v) for k, v in headers if k.lower() not in _FRAMING_HEADERS]
        if wire is None:  # a decoded body: its Content-Encoding no longer applies
            kept = [(k, v) for k, v in kept if k.lower() != "content-encoding"]
        http = StatusAndHeaders(
            f"{status} {reason}", [*kept, ("Content-Length", str(len(payload)))], protocol="HTTP/1.1"
        )
        warc_headers = {"WARC-Date": fetched_at, "WARC-Payload-Digest": digest}
        if original is None:
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(payload),
                length=len(payload),  # known, so warcio digests the block without spooling it to a temporary file
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
        else:
            record = writer.create_revisit_record(
                url, digest, original.url, original.fetched_at, http_headers=http, warc_headers_dict=warc_headers
            )
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        offset, length = self._append(
            out, url, fetched_at, record_id, lambda: writer.write_record(record), request_headers, metadata, sync
        )
        return CaptureRef(name, offset, length, body_sha256(body), digest, original is not None)

    def copy(
        self,
        member: bytes,
        url: str,
        fetched_at: str,
        record_id: str,
        body: bytes,
        digest: str,
        metadata: dict[str, str] | None = None,
        sync: bool = True,
    ) -> CaptureRef:
        """Append a response record another file holds, its gzip member byte for byte, with a request record.

        The caller vouches that the member is one whole response record for `url` at `fetched_at`, whose payload is
        `body` as received and whose WARC-Payload-Digest is `digest`, `payload_digest(body)`: what `write` would
        store, without encoding and compressing it again. On disk when this returns, unless `sync` is False (then
        call `sync()`).
        """
        out, name = self._open(fetched_at)
        offset, length = self._append(out, url, fetched_at, record_id, lambda: out.write(member), [], metadata, sync)
        return CaptureRef(name, offset, length, body_sha256(body), digest, False)

    def _append(
        self,
        out: io.BufferedWriter,
        url: str,
        fetched_at: str,
        record_id: str,
        write_response: Callable[[], object],
        request_headers: list[tuple[str, str]],
        metadata: dict[str, str] | None,
        sync: bool,
    ) -> tuple[int, int]:
        """Append one capture's group under the file lock: the response or revisit record (`write_response`), its
        request record and its metadata; return the first record's offset and length."""
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        request = StatusAndHeaders(
            f"GET /{path} HTTP/1.1", [(header_case(k), v) for k, v in request_headers], is_http_request=True
        )
        concurrent = {"WARC-Date": fetched_at, "WARC-Concurrent-To": record_id}
        with _locked(out):  # a backup copying this file waits for the whole group of records
            offset = out.tell()
            write_response()
            length = out.tell() - offset
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
                        length=len(fields),
                        warc_content_type="application/warc-fields",
                        warc_headers_dict=concurrent,
                    )
                )
            out.flush()
            if sync:
                os.fsync(out.fileno())
            self._unsynced = not sync or self._unsynced
        return offset, length

    def read(self, file: str, offset: int) -> Captured:
        """Read back the record at `offset` of `file` (OSError when the file is missing, ValueError when unreadable)."""
        try:
            return self._read(file, offset)
        except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, zlib.error, brotli.error) as exc:
            raise ValueError(f"unreadable WARC record at {file}:{offset}: {exc}") from exc
        except zstandard.ZstdError as exc:
            raise ValueError(f"unreadable WARC record at {file}:{offset}: {exc}") from exc

    def _read(self, file: str, offset: int) -> Captured:
        """Read back the record at `offset` of `file`."""
        with open(self.directory / Path(file).name, "rb") as stream:
            stream.seek(offset)
            for record in ArchiveIterator(stream):
                http = record.http_headers
                payload = record.raw_stream.read()
                headers = list(http.headers) if http else []
                encodings = [v for k, v in headers if k.lower() == "content-encoding"]
                revisit = record.rec_type == "revisit"  # headers only: the payload is the original's
                digest = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                try:
                    body = b"" if revisit else decode_content(payload, encodings)
                except (zlib.error, brotli.error, zstandard.ZstdError, EOFError):
                    if digest and payload_digest(payload) != digest:  # the likelier cause, and the one to report
                        raise ValueError(f"the bytes at {file}:{offset} no longer match their payload digest") from None
                    raise
                return Captured(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    status=int(http.get_statuscode()) if http else 0,
                    headers=headers,
                    body=body,
                    revisit=revisit,
                    payload=payload,
                    digest=digest,
                )
        raise ValueError(f"no WARC record at {file}:{offset}")

    def files(self) -> list[Path]:
        """Return the store's WARC files, oldest name first."""
        return sorted(self.directory.glob("*.warc.gz")) if self.directory.is_dir() else []

    def close(self) -> None:
        """Close the open WARC file (its records written without `sync` put on disk first)."""
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None


@contextmanager
def _locked(stream: io.BufferedIOBase, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on an open WARC file: writers exclusive per group of records, copies shared."""
    fcntl.flock(stream.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(stream.fileno(), fcntl.LOCK_UN)


def copy_store(source: WarcStore, target: WarcStore) -> tuple[int, int]:
    """Copy every WARC file of `source` into `target`, each whole records only; return (files, bytes)."""
    target.directory.mkdir(parents=True, exist_ok=True)
    files = size = 0
    for path in source.files():
        with open(path, "rb") as src, _locked(src, shared=True), open(target.directory / path.name, "xb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
                size += len(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        files += 1
    return files, size


def store_for(archive_path: str | Path) -> WarcStore:
    """Return the WARC store that belongs to an archive file: `<archive>.warc/` beside it."""
    path = Path(archive_path)
    return WarcStore(path.with_name(path.name + ".warc"), archive=path.name)
