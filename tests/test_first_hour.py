"""A user's first hour: bad inputs get one line naming the file (never a traceback) and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawler.causes import (
    EXTRACTION,
    HTTP_ERROR,
    NO_LISTING,
    OTHER,
    REFUSED,
    TIMED_OUT,
    UNREACHABLE,
    UNRESOLVED,
    cause_of,
    source_cause,
)
from crawler.cli import main
from crawler.fingerprint import content_hash
from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import subprocess_env, write_sources

URL = "http://127.0.0.1/news/talks.html"


def _page(url: str, text: str, title: str) -> PageRecord:
    """A fetched article page with its text."""
    art = ArticleText(content_hash(text), text, title=title, published="2019-06-05", language="en")
    return PageRecord(url=url, source="ministry", host="127.0.0.1", status=200, article=art)


def _make_readonly(path: Path) -> None:
    """Make a file or folder unwritable, even for root (immutable), or skip when the system cannot."""
    if os.geteuid() != 0:
        path.chmod(0o555 if path.is_dir() else 0o444)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("running as root where chattr +i is unavailable: nothing can be made read-only")


def _make_writable(path: Path) -> None:
    """Undo _make_readonly."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Path]:
    """A folder with a small archive, a text file, a folder named like an archive and read-only places."""
    archive = Archive(tmp_path / "a.db")
    archive.record(_page(URL, "Xi Jinping held talks with Vladimir Putin in Moscow on Wednesday.", "Talks"))
    archive.record(_page(URL.replace("talks", "call"), "Wang Yi spoke by phone with Sergey Lavrov.", "Phone call"))
    archive.close()
    (tmp_path / "notes.db").write_text("not an archive\n")
    (tmp_path / "folder.db").mkdir()
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("create table t (x)")
    other.close()
    shutil.copy(tmp_path / "a.db", tmp_path / "frozen.db")
    (tmp_path / "ro").mkdir()
    made = [tmp_path / "frozen.db", tmp_path / "ro"]
    try:
        for path in made:
            _make_readonly(path)
        yield tmp_path
    finally:
        for path in made:
            _make_writable(path)


def _files(root: Path) -> set[str]:
    """Every path under root, except the archive's own WAL journal files a reader may open."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.name.startswith(("a.db-", "frozen.db-"))}


# (db, arguments, exit code, what the one line says)
BAD_INPUTS = [
    ("notes.db", ["search", "Putin"], 2, "notes.db is not a readouts archive (not an SQLite file)"),
    ("notes.db", ["documents"], 2, "notes.db is not a readouts archive"),
    ("notes.db", ["check"], 2, "notes.db is not a readouts archive"),
    ("notes.db", ["runs"], 2, "notes.db is not a readouts archive"),
    ("notes.db", ["export"], 2, "notes.db is not a readouts archive"),
    ("notes.db", ["crawl", "--max-pages", "1"], 2, "notes.db is not a readouts archive"),
    ("other.sqlite", ["search", "Putin"], 2, "other.sqlite is an SQLite file but not a readouts archive"),
    ("folder.db", ["search", "Putin"], 2, "folder.db is a folder, not an archive"),
    ("folder.db", ["crawl"], 2, "folder.db is a folder, not an archive"),
    ("frozen.db", ["crawl", "--max-pages", "1"], 2, "the archive {root}/frozen.db is read-only"),
    ("nowhere/new.db", ["crawl"], 2, "the folder {root}/nowhere does not exist"),
    ("ro/new.db", ["crawl"], 2, "the folder {root}/ro is read-only"),
    ("missing.db", ["search", "Putin"], 1, "no archive at {root}/missing.db: run `readouts crawl` first"),
    ("a.db", ["export", "--format", "txt", "--output-dir", "{root}/notes.db/out"], 2, "notes.db is not a folder"),
    ("a.db", ["export", "--format", "txt", "--output-dir", "{root}/ro/out"], 2, "the folder {root}/ro is read-only"),
    ("a.db", ["feed", "--output", "{root}/ro/feed.xml"], 2, "cannot write {root}/ro/feed.xml: the folder {root}/ro"),
    ("a.db", ["feed", "--output", "{root}/nowhere/feed.xml"], 2, "the folder {root}/nowhere does not exist"),
    ("a.db", ["capture", URL, "--output", "{root}/ro/page.html"], 2, "the folder {root}/ro is read-only"),
    ("a.db", ["backup", "{root}/ro/copy.db"], 2, "cannot write {root}/ro/copy.db: the folder {root}/ro is read-only"),
    ("a.db", ["backup", "{root}/nowhere/copy.db"], 2, "the folder {root}/nowhere does not exist"),
    ("a.db", ["backup", "{root}/notes.db"], 1, "notes.db exists; choose a new file"),
]


@pytest.mark.parametrize(("db", "args", "code", "message"), BAD_INPUTS, ids=[" ".join(r[1][:1]) for r in BAD_INPUTS])
def test_bad_input_is_one_line_and_leaves_nothing(
    place: Path, db: str, args: list[str], code: int, message: str
) -> None:
    before = _files(place)
    argv = ["--db", str(place / db), *(a.format(root=place) for a in args)]
    result = CliRunner().invoke(main, argv)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert message.format(root=place) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _files(place) == before  # no .locks/ folder, no half-made archive, copy or export


def test_a_read_only_archive_is_checked_read_only(place: Path) -> None:
    result = CliRunner().invoke(main, ["--db", str(place / "frozen.db"), "check", "--json"])
    assert result.exit_code == 0, result.output
    assert "readonly" not in result.output
    fts = [line for line in result.output.splitlines() if "FTS integrity-check" in line]
    assert fts and '"skipped": true' in fts[0]
    writable = CliRunner().invoke(main, ["--db", str(place / "a.db"), "check", "--json"])
    assert writable.exit_code == 0 and '"skipped"' not in writable.output  # a writable archive gets FTS5's own check


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_to_a_full_disk_says_so(place: Path, fmt: str) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "crawler", "--db", str(place / "a.db"), "export", "--format", fmt],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: no space left writing the standard output: free some space or write elsewhere"


def _closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_first_crawl_offline_is_short_and_names_the_cause(tmp_path: Path, readouts: Any) -> None:
    port = _closed_port()
    entries = [f'[source.site{i}]\nstart_urls = ["https://site{i}.invalid/news/"]\n' for i in range(30)]
    entries += [f'[source.down{i}]\nstart_urls = ["http://127.0.0.{10 + i}:{port}/news/"]\n' for i in range(4)]
    text = "".join(e + "articles = ['/news/\\\\d+\\\\.html$']\ndelay = 0\n\n" for e in entries)
    sources = write_sources(tmp_path / "sources.toml", text)
    result = readouts("--sources", str(sources), "crawl")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) <= 12, result.err
    assert "Traceback" not in result.err
    assert "no site could be reached" in result.err
    assert "  30 sources could not be resolved: check the network or a proxy (site0, site1, site2, site3, …)" in lines
    assert any(line.startswith("  4 sources refused the connection") for line in lines), result.err
    log = tmp_path / "archive.db.crawl.log"
    assert f"the details are in Scrapy's log: {log}" in lines[-1]
    assert "DNS lookup failed" in log.read_text()  # Scrapy's own lines went to the log file
    as_json = readouts("--sources", str(sources), "crawl", "--json", "site0", "down0")
    assert as_json.code == 1 and as_json.err == ""
    assert set(as_json.json()) >= {"run_id", "status", "errors", "error_samples", "stopped"}  # --json unchanged


CAUSES = [
    ("IgnoreRequest: site skipped this run: robots.txt could not be fetched (CannotResolveHostError)", UNRESOLVED),
    ("DNSLookupError: DNS lookup failed: no results for hostname lookup: x.invalid.", UNRESOLVED),
    ("ConnectionRefusedError: Connection was refused by other side: 111: Connection refused.", REFUSED),
    ("TimeoutError: Getting http://x/ took longer than 3.0 seconds.", TIMED_OUT),
    ("TCPTimedOutError: TCP connection timed out: 110", TIMED_OUT),
    ("ResponseNeverReceived: the connection closed before an answer", UNREACHABLE),
    ("HTTP 404", HTTP_ERROR),
    ("no listing page, feed or sitemap could be read", NO_LISTING),
    ("extraction timed out after 30s", EXTRACTION),
    ("size limit", OTHER),
]


@pytest.mark.parametrize(("error", "cause"), CAUSES)
def test_cause_of_an_error(error: str, cause: str) -> None:
    assert cause_of(error) == cause


def test_a_source_is_explained_by_its_first_specific_error() -> None:
    assert source_cause(["no listing page, feed or sitemap could be read", "HTTP 503", "DNSLookupError"]) == HTTP_ERROR
    assert source_cause(["no listing page, feed or sitemap could be read"]) == NO_LISTING
    assert source_cause([]) == OTHER
