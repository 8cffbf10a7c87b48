"""WARC captures: the rules of storage/warc.py one by one, then a real crawl whose captures pywb replays revision by
revision, warcio checks, a backup restores, and `readouts check` vouches for (or not, once the files are damaged)."""

from __future__ import annotations

import email.utils
import gzip
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest
import zstandard
from warcio.archiveiterator import ArchiveIterator

from storage.warc import Original, WarcStore, decode_content, header_case, payload_digest
from tests import pywb_env
from tests.conftest import CLIResult, cli, cli_here, write_sources
from tests.fixtureweb.fillers import FILLERS
from tests.mockserver import Reply, Route, SiteServer

HTML = b"<html><body><p>" + b"A readout of a meeting. " * 40 + b"</p></body></html>"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Etag", "ETag"),
        ("etag", "ETag"),
        ("content-type", "Content-Type"),
        ("CONTENT-LENGTH", "Content-Length"),
        ("www-authenticate", "WWW-Authenticate"),
        ("Content-Md5", "Content-MD5"),
        ("x-ua-compatible", "X-UA-Compatible"),
        ("Last-Modified", "Last-Modified"),
        ("x-custom-thing", "X-Custom-Thing"),
    ],
)
def test_header_names_get_their_conventional_case(name: str, expected: str) -> None:
    assert header_case(name) == expected


def test_payload_digest_is_warcio_s_sha1_base32() -> None:
    from warcio.utils import Digester

    digester = Digester("sha1")
    digester.update(HTML)
    assert payload_digest(HTML) == str(digester)
    assert payload_digest(HTML) != payload_digest(HTML + b" ")


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("payload", "encodings"),
    [
        (HTML, []),
        (HTML, ["identity"]),
        (gzip.compress(HTML), ["gzip"]),
        (gzip.compress(HTML), ["x-gzip"]),
        (zlib.compress(HTML), ["deflate"]),
        (_raw_deflate(HTML), ["deflate"]),
        (brotli.compress(HTML), ["br"]),
        (zstandard.ZstdCompressor().compress(HTML), ["zstd"]),
        (brotli.compress(gzip.compress(HTML)), ["gzip, br"]),  # applied in the order listed: undone last first
        (brotli.compress(gzip.compress(HTML)), ["gzip", "BR"]),
    ],
    ids=lambda value: "payload" if isinstance(value, bytes) else ",".join(value) or "none",  # gzip stamps the time
)
def test_decode_content_undoes_each_encoding(payload: bytes, encodings: list[str]) -> None:
    assert decode_content(payload, encodings) == HTML


def test_decode_content_stops_at_an_unknown_encoding() -> None:
    packed = gzip.compress(HTML)
    assert decode_content(packed, ["compress"]) == packed  # Scrapy leaves it encoded too
    assert decode_content(gzip.compress(packed), ["compress", "gzip"]) == packed


def _records(path: Path) -> list[Any]:
    with open(path, "rb") as stream:
        return [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(stream)]


def test_store_writes_warcinfo_first_payload_as_received_and_one_digest_algorithm(tmp_path: Path) -> None:
    store = WarcStore(tmp_path / "a.db.warc", archive="a.db")
    wire = gzip.compress(HTML, mtime=0)
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Etag", '"x1"'), ("Content-Length", "3")]
    headers += [("Transfer-Encoding", "chunked")]
    first = store.write("http://127.0.0.2/a", "2026-01-01T00:00:00Z", 200, headers, HTML, [], wire=wire)
    again = store.write(
        "http://127.0.0.2/a",
        "2026-01-02T00:00:00Z",
        200,
        headers,
        HTML,
        [],
        Original("http://127.0.0.2/a", "x"),
        wire=wire,
    )
    plain = store.write("http://127.0.0.2/b", "2026-01-02T00:00:01Z", 200, headers, HTML, [("user-agent", "r")])
    store.close()
    assert first.digest == again.digest == payload_digest(wire) and not first.revisit and again.revisit
    assert plain.digest == payload_digest(HTML)
    [path] = store.files()
    records = _records(path)
    kind, info_headers, _, info = records[0]
    assert kind == "warcinfo" and info_headers.get_header("WARC-Filename") == path.name
    fields = dict(line.split(": ", 1) for line in info.decode().splitlines())
    assert fields["software"].startswith("readouts/") and "warcio/" in fields["software"]
    assert fields["format"] == "WARC File Format 1.1" and fields["isPartOf"] == "a.db"
    by_type = [r for r in records if r[0] in ("response", "revisit")]
    assert [r[0] for r in by_type] == ["response", "revisit", "response"]
    digests = {r[1].get_header("WARC-Payload-Digest").split(":")[0] for r in by_type}
    assert digests == {"sha1"}
    response_headers = by_type[0][2]
    assert response_headers.get_header("Content-Encoding") == "gzip"
    assert response_headers.get_header("Content-Length") == str(len(wire))
    assert response_headers.get_header("Transfer-Encoding") is None
    names = [name for name, _ in response_headers.headers]
    assert "ETag" in names and "Etag" not in names
    assert by_type[2][2].get_header("Content-Encoding") is None  # a body kept decoded carries no encoding
    assert records[-1][0] == "request" and [name for name, _ in records[-1][2].headers] == ["User-Agent"]
    read = store.read(first.file, first.offset)
    assert read.payload == wire and read.body == HTML and read.digest == first.digest
    assert store.read(plain.file, plain.offset).body == HTML
    assert _warcio_check(path).returncode == 0


def _warcio_check(path: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from warcio.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "check", "-v", str(path)], capture_output=True, text=True)


# --- a real crawl of a page edited and then restored, served gzip-encoded -----------------------------------------

ORIGINAL = "The two sides agreed to deepen cooperation in trade, energy and culture."
EDITED = "The two sides agreed to deepen cooperation in trade and energy."


def _page(title: str, lines: tuple[str, ...]) -> bytes:
    body = "".join(f"<p>{line}</p>" for line in lines)
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><article>{body}</article></body></html>".encode()


class EditedSite:
    """Six readouts; the first served gzip-encoded with an ETag, and its text settable between crawls."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {
            "/news/": Reply("".join(f'<a href="/a/{n}.html">x</a>' for n in range(6)).encode())
        }
        for n in range(1, 6):
            self.routes[f"/a/{n}.html"] = Reply(_page(FILLERS[n].title, FILLERS[n].body))
        self.text = ORIGINAL
        self.routes["/a/0.html"] = self._answer
        self.server = SiteServer("127.0.0.61", self.routes).start()

    def html(self, text: str) -> bytes:
        return _page(FILLERS[0].title, (*FILLERS[0].body, text))

    def _answer(self, handler: Any) -> None:
        body = gzip.compress(self.html(self.text), mtime=0)  # deterministic, as servers compress
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", f'"{zlib.crc32(body):x}"')
        handler.end_headers()
        handler.wfile.write(body)


class Archive:
    """The CLI on one archive in a folder."""

    def __init__(self, folder: Path, sources: Path) -> None:
        self.folder, self.sources = folder, sources
        self.db = folder / "archive.db"

    def cli(self, *args: str, db: Path | None = None) -> CLIResult:
        """Run `readouts ARGS`: a crawl in its own process (Twisted's reactor runs once), the rest in this one."""
        run = cli if args[0] == "crawl" else cli_here
        return run(db or self.db, *args, sources=self.sources)

    def capture(self, url: str, revision: int, *args: str, db: Path | None = None) -> tuple[bytes, CLIResult]:
        out = self.folder / f"capture-{revision}-{len(args)}.bin"
        result = self.cli("capture", url, "--revision", str(revision), "--output", str(out), *args, db=db)
        assert result.code == 0, result.err
        return out.read_bytes(), result


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, EditedSite, list[dict[str, Any]]]]:
    """Three crawls: the page as published, edited, then restored to its first text; its history."""
    site = EditedSite()
    folder = tmp_path_factory.mktemp("warc")
    sources = write_sources(
        folder / "s.toml", f"[source.s]\nstart_urls = ['{site.server.url('/news/')}']\narticles = ['/a/']\ndelay = 0\n"
    )
    archive = Archive(folder, sources)
    for text in (ORIGINAL, EDITED, ORIGINAL):
        site.text = text
        result = archive.cli("crawl", "--recheck", "--json")
        assert result.code == 0, result.err
    history = archive.cli("history", site.server.url("/a/0.html"), "--json").jsonl()
    yield archive, site, history
    site.server.stop()


def test_every_revision_is_captured_as_received_and_capture_says_what_it_wrote(crawled: Any) -> None:
    archive, site, history = crawled
    url = site.server.url("/a/0.html")
    assert [h["revision"] for h in history] == [1, 2, 3]
    for revision, text in zip((1, 2, 3), (ORIGINAL, EDITED, ORIGINAL), strict=True):
        body, result = archive.capture(url, revision)
        assert body == site.html(text)
        assert "Content-Encoding (gzip) undone" in result.err and f"{len(body)} bytes" in result.err
        wire, result = archive.capture(url, revision, "--wire")
        assert wire == gzip.compress(site.html(text), mtime=0) and "as received" in result.err
    with sqlite3.connect(archive.db) as db:
        rows = db.execute(
            "select c.revisit_of, c.payload_digest from revisions r join captures c on c.id = r.capture_id "
            "join pages p on p.id = r.page_id where p.url = ? order by r.number",
            [url],
        ).fetchall()
    assert rows[0][0] is None and rows[1][0] is None and rows[2][0] is not None  # the restored text is a revisit
    assert rows[0][1] == rows[2][1] != rows[1][1]


def test_warcio_check_passes_and_each_file_starts_with_warcinfo(crawled: Any) -> None:
    archive, _, _ = crawled
    files = sorted((archive.folder / "archive.db.warc").glob("*.warc.gz"))
    assert len(files) == 3  # one per crawl process
    kinds: dict[str, int] = {}
    for path in files:
        result = _warcio_check(path)
        assert result.returncode == 0, result.stdout + result.stderr
        records = _records(path)
        assert records[0][0] == "warcinfo"
        for kind, *_ in records:
            kinds[kind] = kinds.get(kind, 0) + 1
        digests = {
            r[1].get_header("WARC-Payload-Digest").split(":")[0]
            for r in records
            if r[0] != "warcinfo" and r[1].get_header("WARC-Payload-Digest")
        }
        assert digests == {"sha1"}
    assert kinds["warcinfo"] == 3 and kinds["revisit"] >= 5  # the unchanged pages of later crawls are revisits


@pytest.fixture(scope="module")
def pywb(crawled: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A pywb replay server on loopback with a collection of the archive's WARC files; its collection's base URL."""
    archive, _, _ = crawled
    files = [str(p) for p in sorted((archive.folder / "archive.db.warc").glob("*.warc.gz"))]
    server = pywb_env.serve(tmp_path_factory.mktemp("pywb"), "readouts", files)
    yield f"{server.base}/readouts"
    server.stop()


def _replay(base: str, fetched_at: str, url: str) -> tuple[str, bytes, Any]:
    timestamp = re.sub(r"\D", "", fetched_at)[:14]
    with urllib.request.urlopen(f"{base}/{timestamp}id_/{url}", timeout=60) as answer:
        body = answer.read()
        if answer.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return answer.url, body, answer.headers


def test_pywb_replays_every_revision_of_an_edited_then_restored_page(crawled: Any, pywb: str) -> None:
    _, site, history = crawled
    url = site.server.url("/a/0.html")
    for revision, text in zip(history, (ORIGINAL, EDITED, ORIGINAL), strict=True):
        final_url, body, headers = _replay(pywb, revision["fetched_at"], url)
        assert body == site.html(text), f"revision {revision['revision']} replayed another body"
        timestamp = re.sub(r"\D", "", revision["fetched_at"])[:14]
        assert f"/{timestamp}id_/" in final_url  # no redirect to a neighbouring capture
        memento = email.utils.parsedate_to_datetime(headers["Memento-Datetime"]).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert memento == revision["fetched_at"]
        assert "X-Archive-Orig-ETag" in {name for name, _ in headers.items()}  # the name kept its case
        assert headers["X-Archive-Orig-Content-Encoding"] == "gzip"  # stored as received; pywb decodes for replay


def test_a_backup_holds_the_captures_and_a_restored_one_serves_capture(crawled: Any, tmp_path: Path) -> None:
    archive, site, _ = crawled
    url = site.server.url("/a/0.html")
    copy = tmp_path / "copy.db"
    result = archive.cli("backup", str(copy))
    assert result.code == 0, result.err
    assert "3 WARC files" in result.err
    restored = tmp_path / "restored"  # as if the original were lost: only the backup's files, moved elsewhere
    restored.mkdir()
    shutil.move(copy, restored / "r.db")
    shutil.move(tmp_path / "copy.db.warc", restored / "r.db.warc")
    for revision, text in zip((1, 2, 3), (ORIGINAL, EDITED, ORIGINAL), strict=True):
        assert archive.capture(url, revision, db=restored / "r.db")[0] == site.html(text)
    checked = archive.cli("check", db=restored / "r.db")
    assert checked.code == 0, checked.out
    bare = tmp_path / "bare.db"
    result = archive.cli("backup", str(bare), "--no-captures")
    assert result.code == 0 and "NOT copied" in result.err and not (tmp_path / "bare.db.warc").exists()
    assert archive.cli("capture", url, db=bare).code == 1
    assert archive.cli("check", db=bare).code == 1


def _problems(archive: Archive, db: Path) -> tuple[int, list[dict[str, Any]]]:
    result = archive.cli("check", "--json", db=db)
    [captures] = [r for r in result.jsonl() if r["check"] == "captures present and intact"]
    return result.code, captures["problems"]


def _record_of(db: Path, url: str, revision: int) -> tuple[str, int, int]:
    with sqlite3.connect(db) as conn:
        [row] = conn.execute(
            "select c.warc_file, c.warc_offset, c.warc_length from revisions r join captures c on c.id = r.capture_id "
            "join pages p on p.id = r.page_id where p.url = ? and r.number = ?",
            [url, revision],
        ).fetchall()
    return row


def _alter(path: Path, offset: int, length: int, change: Any) -> None:
    """Rewrite one gzip-member record of a WARC file with its payload changed (a well-formed record, wrong bytes)."""
    data = bytearray(path.read_bytes())
    warc_headers, http_headers, rest = gzip.decompress(bytes(data[offset : offset + length])).split(b"\r\n\r\n", 2)
    record = b"\r\n\r\n".join([warc_headers, http_headers, change(rest[:-4]) + rest[-4:]])
    data[offset : offset + length] = gzip.compress(record)
    path.write_bytes(bytes(data))


def test_check_finds_missing_truncated_and_altered_captures(crawled: Any, tmp_path: Path) -> None:
    archive, site, _ = crawled
    edited, plain = site.server.url("/a/0.html"), site.server.url("/a/1.html")
    assert _problems(archive, archive.db) == (0, [])
    for name in ("missing", "truncated", "flipped", "reworded"):
        assert archive.cli("backup", str(tmp_path / f"{name}.db")).code == 0
    file, offset, length = _record_of(archive.db, edited, 1)
    warc = lambda name: tmp_path / f"{name}.db.warc" / file  # noqa: E731
    warc("missing").unlink()
    with open(warc("truncated"), "r+b") as stream:
        stream.truncate(offset + length // 2)
    middle = lambda b: b[: len(b) // 2] + bytes([b[len(b) // 2] ^ 0xFF]) + b[len(b) // 2 + 1 :]  # noqa: E731
    _alter(warc("flipped"), offset, length, middle)  # one byte of the gzip-encoded body flipped
    plain_file, plain_offset, plain_length = _record_of(archive.db, plain, 1)
    assert plain_file == file  # both first fetched by the first crawl
    _alter(warc("reworded"), plain_offset, plain_length, lambda b: b.replace(b"the", b"tha", 1))  # a plain body, edited
    found = {name: _problems(archive, tmp_path / f"{name}.db") for name in ("missing", "truncated", "flipped")}
    found["reworded"] = _problems(archive, tmp_path / "reworded.db")
    assert {name: code for name, (code, _) in found.items()} == dict.fromkeys(found, 1)
    revisions = lambda name: {(p["url"], p["revision"]) for p in found[name][1]}  # noqa: E731
    # the whole first file is gone, or cut at the edited page's first record: those pages' first revisions too
    assert {(edited, 1), (edited, 3), (plain, 1)} <= revisions("missing")  # revision 3 revisits revision 1
    assert {(edited, 1), (edited, 3)} <= revisions("truncated")
    # a rewritten record may change length, and the records after it in its file are then not where they were
    assert {(edited, 1), (edited, 3)} <= revisions("flipped") and (plain, 1) in revisions("reworded")
    assert all(p["file"] == file for name in found for p in found[name][1]), found
    assert all("WARC file missing" in p["reason"] for p in found["missing"][1])
    reasons = {(name, p["url"], p["revision"]): p["reason"] for name in found for p in found[name][1]}
    for key in (("flipped", edited, 1), ("flipped", edited, 3), ("reworded", plain, 1)):
        assert "no longer match their payload digest" in reasons[key], reasons
    text = archive.cli("check", db=tmp_path / "reworded.db")
    assert text.code == 1 and f"{plain} revision 1: the bytes at" in text.out


def test_a_capture_s_records_are_written_under_the_file_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a group of records is written, a copy cannot take its shared lock (it would copy half a record)."""
    import fcntl

    import storage.warc as warc

    store = WarcStore(tmp_path / "w", archive="a.db")
    store.write("http://127.0.0.2/a", "2026-01-01T00:00:00Z", 200, [], HTML, [])  # the file exists now
    blocked: list[bool] = []
    real_fsync = warc.os.fsync

    def fsync(fd: int) -> None:  # the group is written, not yet released: try what a copy would
        with open(store.files()[0], "rb") as other:
            try:
                fcntl.flock(other.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                blocked.append(False)
            except BlockingIOError:
                blocked.append(True)
        real_fsync(fd)

    monkeypatch.setattr(warc.os, "fsync", fsync)
    store.write("http://127.0.0.2/b", "2026-01-01T00:00:01Z", 200, [], HTML, [], metadata={"k": "v"})
    store.close()
    assert blocked == [True]


def test_records_written_unsynced_are_put_on_disk_by_sync_or_before_their_file_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.warc as warc

    synced: list[int] = []
    real_fsync = warc.os.fsync
    monkeypatch.setattr(warc.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    store = WarcStore(tmp_path / "w", max_file_bytes=1, archive="a.db")  # every record fills its file
    store.write("http://127.0.0.2/a", "2026-01-01T00:00:00Z", 200, [], HTML, [], sync=False)
    assert synced == []
    store.write("http://127.0.0.2/b", "2026-01-01T00:00:01Z", 200, [], HTML, [], sync=False)
    assert len(synced) == 1  # the first file, before it was closed for the next
    store.sync()
    store.sync()  # nothing left unsynced: no second fsync
    assert len(synced) == 2 and len(store.files()) == 2
    store.write("http://127.0.0.2/c", "2026-01-01T00:00:02Z", 200, [], HTML, [])  # synced as it is written
    store.close()
    assert len(synced) == 3  # /c's own only: the file it left was on disk already


def test_a_backup_copy_waits_for_the_record_being_written(tmp_path: Path) -> None:
    import fcntl

    from storage.warc import copy_store

    store = WarcStore(tmp_path / "a.db.warc", archive="a.db")
    store.write("http://127.0.0.2/a", "2026-01-01T00:00:00Z", 200, [], HTML, [])
    store.close()
    [path] = store.files()
    with open(path, "ab") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # a crawl in the middle of a record
        writer.write(b"half a record")
        writer.flush()
        copier = threading.Thread(target=copy_store, args=(store, WarcStore(tmp_path / "b.db.warc")))
        copier.start()
        copier.join(0.3)
        assert copier.is_alive()  # waiting for the writer
        writer.write(b", and the rest")
        writer.flush()
        fcntl.flock(writer.fileno(), fcntl.LOCK_UN)
    copier.join(30)
    assert (tmp_path / "b.db.warc" / path.name).read_bytes() == path.read_bytes()


def test_only_a_record_written_as_revisit_points_to_an_original(tmp_path: Path) -> None:
    """Two responses with one payload (written before either was archived) stay two originals, as in the WARC."""
    from storage.archive import Archive as Store
    from storage.archive import ArticleText, PageRecord
    from storage.warc import CaptureRef

    archive = Store(tmp_path / "a.db")
    digest = payload_digest(HTML)
    refs = [
        CaptureRef("f", 0, 9, "s", digest),
        CaptureRef("f", 9, 9, "s", digest),
        CaptureRef("f", 18, 9, "s", digest, True),
    ]
    for n, ref in enumerate(refs):
        art = ArticleText(content_hash="h", text="readout text", title="t")
        archive.record(
            PageRecord(url=f"http://127.0.0.2/{n}", source="s", host="h", status=200, article=art, capture=ref)
        )
    rows = archive.db.execute("select id, revisit_of, payload_digest from captures order by id").fetchall()
    assert [(r[1], r[2]) for r in rows] == [(None, digest), (None, digest), (rows[0][0], digest)]
    assert (archive.original_capture(digest) or ("",))[0] == "http://127.0.0.2/0"
    assert archive.original_capture(payload_digest(b"other")) is None
    archive.close()


def test_the_wire_body_is_kept_only_for_an_encoded_answer_and_never_goes_stale() -> None:
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from spiders.middlewares import WIRE_META, WireBodyMiddleware

    middleware, request = WireBodyMiddleware(), Request("http://127.0.0.2/a")
    packed = gzip.compress(HTML)
    encoded = HtmlResponse(
        request.url, body=packed, headers={"Content-Encoding": "gzip", "ETag": '"1"'}, request=request
    )
    assert middleware.process_response(request, encoded) is encoded
    body, headers = request.meta[WIRE_META]
    assert body == packed and ("Content-Encoding", "gzip") in headers
    plain = HtmlResponse(request.url, body=HTML, request=request)  # a retry of the same request answered plainly
    middleware.process_response(request, plain)
    assert request.meta[WIRE_META] is None
