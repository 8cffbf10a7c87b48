"""Users' input (README: Reliability) SQL metacharacters, FTS syntax errors, hostile titles as file names, escaping."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.export_files import file_name, slug
from crawler.cli.main import main
from crawler.cli.terminal import printable
from storage.archive import Archive, ArticleText, PageRecord

HOSTILE_TITLES = [
    "../../etc/passwd",
    "/abs/path/readout",
    "nul\0byte title",
    "..",
    "CON",
    "\x1b[2J\x1b[31mWiped screen",
    "Xi Jinping Holds Talks with President Vladimir Putin of Russia " * 5,
    "习近平同俄罗斯总统普京会谈",
    "Переговоры\u202etxt.exe",
    "<script>alert(3)</script><img src=x onerror=alert(4)> Talks",
]
SCRIPT = "<script>alert(1)</script> and <img src=x onerror=alert(2)> in the text of a readout about the talks."


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An archive of documents with hostile titles and texts, from two sources."""
    db = tmp_path / "archive.db"
    store = Archive(db)
    for n, title in enumerate(HOSTILE_TITLES):
        text = f"Readout {n}: the Foreign Minister held talks. {SCRIPT}\x1b]0;owned\x07"
        art = ArticleText(content_hash=f"{n:02d}" + "ab" * 31, text=text, title=title, published="2023-03-21")
        source = "alpha" if n % 2 else "beta"
        store.record(
            PageRecord(url=f"http://127.0.0.2/a/{n}.html", source=source, host="127.0.0.2", status=200, article=art)
        )
    store.close()
    return db


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--source", "alpha' OR '1'='1"],
        ["documents", "--source", 'x" OR 1=1 --', "--json"],
        ["changes", "--source", "'; drop table pages; --", "--json"],
        ["meetings", "--participant", "' OR 1=1 --", "--json"],
        ["search", "talks", "--source", "' OR ''='", "--json"],
        ["search", "talks", "--since", "2023-01-01' OR '1'='1", "--json"],
    ],
)
def test_sql_metacharacters_in_filters_match_nothing(archive: Path, readouts_here, args: list[str]) -> None:
    result = readouts_here(*args, db=archive)
    assert "Traceback" not in result.err
    if result.code:  # refused with a message: a value that is no date (2), a person nobody knows (1)
        assert result.err.startswith(("Error: ", "Usage: ")) and args[-1 if args[-1] != "--json" else -2] in result.err
    assert result.out == "", result.out  # bound as a value: it matches no source, nobody, no date
    with sqlite3.connect(archive) as db:
        assert db.execute("select count(*) from pages").fetchone()[0] == len(HOSTILE_TITLES)


def test_names_come_from_allowlists(archive: Path, readouts_here) -> None:
    result = readouts_here("changes", "--kind", "new OR 1=1", db=archive)
    assert result.code == 2 and "new OR 1=1" in result.err and "Traceback" not in result.err
    result = readouts_here("export", "--format", "sql", db=archive)
    assert result.code == 2 and "sql" in result.err


@pytest.mark.parametrize(
    ("query", "raw_hits"),
    [
        ("talks AND (", None),
        ("NEAR(", None),
        ('"unbalanced', None),
        ("talks OR", None),
        ("*", None),
        ("title:talks", 2),  # valid FTS5: a column filter (two titles say Talks)
        ("^", None),
        ("a:b:c", None),
    ],
)
def test_fts_syntax_errors_become_a_clear_message(archive: Path, query: str, raw_hits: int | None) -> None:
    plain = CliRunner().invoke(main, ["--db", str(archive), "search", query, "--json"])
    assert plain.exit_code == 0, plain.output  # a plain search takes its words as data: never a syntax error
    raw = CliRunner().invoke(main, ["--db", str(archive), "search", query, "--raw", "--json"])
    if raw_hits is None:
        assert raw.exit_code == 1 and raw.stdout == "", raw.output
        assert raw.stderr.startswith(f"Error: not a valid search query {query!r}"), raw.stderr
        assert "FTS5 syntax" in raw.stderr and "Traceback" not in raw.stderr  # with the rules it broke
    else:
        assert raw.exit_code == 0 and len(raw.stdout.splitlines()) == raw_hits, raw.output


def test_double_dash_ends_options(archive: Path) -> None:
    store = Archive(archive)
    text = "Pass --raw to search with SQLite's own syntax."
    art = ArticleText(content_hash="ff" * 32, text=text, title="Help", published="2023-03-22")
    store.record(
        PageRecord(url="http://127.0.0.2/help.html", source="alpha", host="127.0.0.2", status=200, article=art)
    )
    store.close()
    ended = CliRunner().invoke(main, ["--db", str(archive), "search", "--json", "--", "--raw"])
    assert ended.exit_code == 0, ended.output
    assert [hit["title"] for hit in map(json.loads, ended.stdout.splitlines())] == ["Help"]  # "--raw" was the query
    option = CliRunner().invoke(main, ["--db", str(archive), "search", "--json", "--raw"])
    assert option.exit_code == 2 and "Missing argument 'QUERY'" in option.stderr  # without --, it is the option


def test_export_files_are_named_safely_under_the_folder(tmp_path: Path, archive: Path, readouts) -> None:
    out = tmp_path / "out"
    result = readouts("export", "--format", "txt", "--output-dir", str(out), db=archive)
    assert result.code == 0, result.err
    files = sorted(out.iterdir())
    assert len(files) == len(HOSTILE_TITLES)
    elsewhere = {p.name for p in tmp_path.iterdir()} - {"out", "archive.db", "archive.db-wal", "archive.db-shm"}
    assert elsewhere == set()  # nothing written outside the folder
    for path in files:
        assert path.parent == out and path.name.startswith("2023-03-21-") and path.suffix == ".txt"
        assert "\0" not in path.name and len(path.name) < 100
    names = " ".join(p.name for p in files)
    assert "习近平同俄罗斯总统普京会谈" in names and "etc-passwd" in names and "abs-path-readout" in names
    text = next(p for p in files if "etc-passwd" in p.name).read_text(encoding="utf-8")
    assert text.startswith("Title: ../../etc/passwd\n") and SCRIPT in text


def test_slugs_and_names() -> None:
    assert slug("../../x") == "x" and slug("/abs") == "abs" and slug("..") == "untitled" and slug(None) == "untitled"
    assert slug("a\0b") == "ab" and slug("Talks, Moscow; 2023") == "talks-moscow-2023"
    record = {"published": "../2023", "title": "t", "content_hash": "0123456789abcdef"}
    assert file_name(record) == "undated-t-0123456789ab.txt"


def test_stored_control_characters_are_shown_not_obeyed(archive: Path, readouts_here) -> None:
    for args in (
        ["documents"],
        ["search", "Foreign Minister", "--limit", "50"],
        ["changes"],
        ["history", "http://127.0.0.2/a/5.html"],
    ):
        result = readouts_here(*args, db=archive)
        assert result.code == 0, (args, result.err)
        assert "\x1b" not in result.out and "\x07" not in result.out and "\u202e" not in result.out, args
    assert "\\x1b[2J" in readouts_here("documents", db=archive).out
    assert printable("a\x1bb\tc\nd\u202e") == "a\\x1bb\tc\nd\\u202e"


def test_stored_markup_is_escaped_in_the_feed(archive: Path, readouts_here) -> None:
    result = readouts_here("feed", db=archive)
    assert result.code == 0, result.err
    assert "<script>" not in result.out and "<img" not in result.out
    assert "&lt;script&gt;alert(3)&lt;/script&gt;&lt;img src=x onerror=alert(4)&gt; Talks" in result.out
    json_out = readouts_here("export", db=archive).jsonl()
    assert any(SCRIPT in row["text"] for row in json_out)  # machine output keeps the text as stored
    assert all(json.dumps(row) for row in json_out)
