"""Decide what a response body is, and decode HTML from its bytes (headers and meta tags can lie)."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from crawler.errors import DecodeError

_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip/office"),
    (b"\x1f\x8b", "gzip"),
    (b"RIFF", "riff"),
    (b"\xd0\xcf\x11\xe0", "ms-office"),
    (b"ID3", "mp3"),
)
_TEXTUAL = re.compile(r"^(text/|application/(xhtml\+xml|xml)|$)", re.I)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# a page valid in its declared encoding but for a few stray bytes is that encoding (detection guesses wildly)
MAX_STRAY = 8
MAX_STRAY_SHARE = 0.001


def sniff_binary(body: bytes, content_type: str | None) -> str | None:
    """Return what the body is when it is not an HTML page (by magic bytes, then Content-Type), else None."""
    head = body[:16]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    declared = (content_type or "").split(";")[0].strip()
    if not _TEXTUAL.match(declared):
        return declared
    if b"\x00" in body[:1024]:
        return "binary"
    return None


def _declared(body: bytes, content_type: str | None) -> list[str]:
    """Return the encodings named by the Content-Type header and the page's meta tags, known to Python."""
    names = []
    if content_type:
        match = _CHARSET.search(content_type.encode("latin-1", "ignore"))
        if match:
            names.append(match.group(1).decode("ascii", "ignore"))
    names += [m.decode("ascii", "ignore") for m in _CHARSET.findall(body[:4096])]
    known = []
    for name in names:
        try:
            known.append(codecs.lookup(name).name)
        except LookupError:
            continue
    # GB2312 and GBK pages routinely use characters only GB18030 (their superset) defines
    return ["gb18030" if n in ("gb2312", "gbk") else n for n in dict.fromkeys(known)]


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode HTML bytes: BOM, then strict UTF-8, then declared charsets, then detection."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            return body.decode(name, "replace")
    declared = _declared(body, content_type)
    for name in ("utf-8", *declared):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    for name in declared:
        text, invalid = _decode_replacing(body, name)
        if stray_bytes(invalid, len(text)):
            return text
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is None or not best.encoding:
        raise DecodeError("no encoding fits the bytes")
    return body.decode(best.encoding, "replace")


def stray_bytes(invalid: int, length: int) -> bool:
    """Return True when a text's undecodable sequences are few enough to be stray bytes, not a wrong encoding."""
    return invalid <= min(MAX_STRAY, MAX_STRAY_SHARE * length)


def _decode_replacing(body: bytes, name: str) -> tuple[str, int]:
    """Decode with undecodable sequences replaced by U+FFFD; return the text and how many were replaced."""
    text = body.decode(name, "replace")
    try:
        literal = body.count("\ufffd".encode(name))  # replacement characters the page itself holds
    except (UnicodeEncodeError, LookupError):
        literal = 0
    return text, text.count("\ufffd") - literal
