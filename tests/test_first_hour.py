"""A user's first hour: bad inputs get one line naming the file (never a traceback) and leave nothing behind."""

from __future__ import annotations

import json
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

from crawler.cli.causes import (
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
from crawler.cli.main import main
from crawler.config.people_file import PEOPLE_ENV
from crawler.extraction.fingerprint import content_hash
from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply

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


OLD = "The two heads of state spoke highly of relations since the establishment of diplomatic relations 70 years ago."
NEW = "The two heads of state spoke highly of relations over the 70 years since diplomatic ties began."
EDITED = "http://127.0.0.1/news/edited.html"


@pytest.fixture
def monitored(tmp_path: Path) -> Path:
    """An archive with an edited page (two revisions), a page with one, a re-check run and two failed runs."""
    db = tmp_path / "m.db"
    archive = Archive(db)
    archive.record(_page(URL, "Xi Jinping held talks with Vladimir Putin in Moscow on Wednesday.", "Talks"))
    archive.record(_page(EDITED, f"First paragraph stays.\n{OLD}\nLast paragraph stays.", "Edited"))
    archive.record(_page(EDITED, f"First paragraph stays.\n{NEW}\nLast paragraph stays.", "Edited"))
    counts = {"pages_fetched": 2, "rechecked": 2, "unchanged": 1, "changed": 1, "gone": 0, "moved": 0}
    archive.finish_run(archive.start_run(["ministry"], "manual"), "ok", counts, [], {"ministry": "blocked: 10 403s"})
    for _ in range(2):
        samples = [
            {"url": "http://127.0.0.1/news/", "error": "DNSLookupError: DNS lookup failed: 127.0.0.1"},
            {"url": "ministry", "error": "no listing page, feed or sitemap could be read"},
        ]
        archive.finish_run(archive.start_run(["ministry"], "manual"), "failed", {"errors": 2}, samples)
    archive.close()
    return db


def _cli(db: Path, *args: str, color: bool = False) -> Any:
    """Run `readouts --db DB ARGS` in-process."""
    return CliRunner().invoke(main, ["--db", str(db), *args], color=color)


def test_search_numbers_results_and_says_when_nothing_matches(monitored: Path) -> None:
    found = _cli(monitored, "search", "relations")
    lines = found.stdout.splitlines()
    assert lines[0].startswith(" 1. ") and "Edited" in lines[0]
    assert lines[1].startswith("    document id ")
    none = _cli(monitored, "search", "zebras")
    assert none.exit_code == 0 and none.stdout == "" and none.stderr.strip() == "no matches for 'zebras'"
    dashed = _cli(monitored, "search", "--", "-zebras")  # a query starting with "-" after "--"
    assert dashed.exit_code == 0 and "no matches for '-zebras'" in dashed.stderr
    assert _cli(monitored, "search", "zebras", "--json").stderr == ""  # JSON: no lines, nothing said


def test_diff_marks_the_changed_words_and_names_revisions_right(monitored: Path) -> None:
    result = _cli(monitored, "diff", EDITED, color=True)
    assert result.exit_code == 0, result.output
    removed = next(line for line in result.stdout.splitlines() if "establishment" in line)
    added = next(line for line in result.stdout.splitlines() if "diplomatic ties began" in line)
    reverse, plain = "\x1b[7m", "\x1b[27m"
    assert f"{reverse}since diplomatic ties began." in added  # the changed words stand out
    assert f"{plain} the 70 years " in added and f"{reverse}the 70 years" not in added  # the kept ones do not
    assert f"{reverse} establishment of diplomatic relations" in removed and f"{reverse}ago." in removed
    assert "First paragraph stays" in _cli(monitored, "diff", EDITED).stdout  # plain text when not a terminal
    wrong = _cli(monitored, "diff", EDITED, "--to", "5")
    assert wrong.exit_code == 1 and f"{EDITED} has no revision 5 (it has 1, 2)" in wrong.stderr
    wrong = _cli(monitored, "diff", EDITED, "--from", "3")
    assert wrong.exit_code == 1 and "has no revision 3 (it has 1, 2)" in wrong.stderr
    single = _cli(monitored, "diff", URL)
    assert single.exit_code == 1 and f"{URL} has a single revision, nothing to compare" in single.stderr


def test_history_summarises_revisions_and_shows_texts_on_request(monitored: Path) -> None:
    lines = _cli(monitored, "history", EDITED).stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("revision 1  ") and "+24 -0 words  Edited" in lines[0]
    assert lines[1].startswith("revision 2  ") and "+5 -6 words  Edited" in lines[1]
    full = _cli(monitored, "history", EDITED, "--text").stdout
    assert OLD in full and NEW in full


def test_runs_show_what_rechecks_found_and_stopped_is_an_object(monitored: Path) -> None:
    lines = _cli(monitored, "runs").stdout.splitlines()
    assert lines[-1].endswith("(re-checked 2: 1 changed, 0 gone, 0 moved)")
    assert "re-checked" not in lines[0]
    runs = [json.loads(line) for line in _cli(monitored, "runs", "--json").stdout.splitlines()]
    assert runs[-1]["stopped"] == {"ministry": "blocked: 10 403s"} and runs[0]["stopped"] == {}


def test_sources_alert_says_why(monitored: Path, tmp_path: Path) -> None:
    sources = write_sources(
        tmp_path / "s.toml", "[source.ministry]\nstart_urls = ['http://127.0.0.1/news/']\narticles = ['/news/']\n"
    )
    out = _cli(monitored, "--sources", str(sources), "sources").stdout
    assert "ALERT: 2 failed runs in a row; the last failed with: DNSLookupError: DNS lookup failed" in out


def test_export_names_known_sources_and_writes_a_file(monitored: Path, tmp_path: Path) -> None:
    unknown = _cli(monitored, "export", "--source", "nope")
    assert unknown.exit_code == 2 and "no source 'nope' in" in unknown.stderr and "(it has ministry)" in unknown.stderr
    target = tmp_path / "out.csv"
    done = _cli(monitored, "export", "--format", "csv", "--output", str(target))
    assert done.exit_code == 0 and done.stdout == ""
    assert target.read_text().startswith("url,source,title") and EDITED in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []  # no temporary file left


def test_documents_show_a_superseded_document_with_its_page(monitored: Path) -> None:
    out = _cli(monitored, "documents").stdout
    old = out.split("#2 ")[1].split("#3 ")[0]
    assert f"superseded (the page's text was edited since): ministry: {EDITED}" in old
    docs = [json.loads(line) for line in _cli(monitored, "documents", "--json").stdout.splitlines()]
    assert docs[1]["copies"] == [] and docs[1]["superseded"][0]["url"] == EDITED


def test_schedule_list_is_a_table_with_next_runs_before_the_daemon_ran(tmp_path: Path) -> None:
    sources = write_sources(
        tmp_path / "s.toml",
        "[source.a]\nstart_urls = ['http://127.0.0.1/']\narticles = ['/a/']\nevery = '6h'\n\n"
        "[source.b]\nstart_urls = ['http://127.0.0.1/']\narticles = ['/b/']\ncron = '0 3 * * *'\n\n"
        "[source.c]\nstart_urls = ['http://127.0.0.1/']\narticles = ['/c/']\n",
    )
    db = tmp_path / "none.db"
    lines = _cli(db, "--sources", str(sources), "schedule", "--list").stdout.splitlines()
    assert lines[0].split() == ["a", "every", "6h", "next:", "when", "the", "daemon", "starts,", "then", "every", "6h"]
    assert lines[1].split()[:3] == ["b", "cron", "0"] and lines[1].endswith("T03:00:00Z")
    assert lines[2].split() == ["c", "manual", "next:", "-"]
    rows = [
        json.loads(line)
        for line in _cli(db, "--sources", str(sources), "schedule", "--list", "--json").stdout.splitlines()
    ]
    assert rows[1]["following_run"].endswith("T03:00:00Z") and rows[2]["following_run"] is None
    assert not db.exists()


PROGRESS_SCRIPT = """
import io, json, sys
from rich.console import Console
from crawler.config.sources import load_sources
from crawler.cli.progress import Progress
from crawler.run import crawl
progress = Progress(enabled=True, console=Console(file=io.StringIO()))
live = []
def update(tally, source, responses, finished):
    live.append(finished)
    progress.update(tally, source, responses, finished)
with progress:
    crawl(list(load_sources(sys.argv[1]).values()), sys.argv[2], on_progress=update, log_file=sys.argv[2] + ".log")
print(json.dumps([progress.lines(), live.count(False)]))
"""


def test_the_live_progress_has_a_line_per_source(tmp_path: Path, serve) -> None:
    lines = []
    for site, host in (("ministry", "127.0.0.31"), ("embassy", "127.0.0.32")):
        routes = {p: Reply(page.body, page.status, page.content_type) for p, page in sites.build_site(site).items()}
        server = serve(host, routes)
        lines.append(
            f"[source.{site}]\nstart_urls = ['{server.url(sites.listing_paths(site)[0])}']\n"
            f"follow = ['index_\\d+']\narticles = ['/t\\d{{8}}_\\d+\\.html?$']\ndelay = 0\n"
        )
    sources = write_sources(tmp_path / "s.toml", "\n".join(lines))
    proc = subprocess.run(
        [sys.executable, "-c", PROGRESS_SCRIPT, str(sources), str(tmp_path / "p.db")],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    shown, updates = json.loads(proc.stdout)
    assert updates >= 14  # updated while the sources were crawled (a response or an item each), not only at the end
    assert shown[0].startswith("8 article pages fetched, 7 new documents"), shown
    assert sorted(shown[1:]) == ["  embassy: 7 pages, done", "  ministry: 7 pages, done"], (
        shown
    )  # robots, 2 listings, 4


DING = "Ding Xuexiang Holds Talks with Greek Minister of Development Takis Theodorikakos"


@pytest.fixture
def clean_people() -> Iterator[None]:
    """Forget the people read by this process (the user's file changes between tests)."""
    from crawler.extraction import meetings

    yield
    os.environ.pop(PEOPLE_ENV, None)
    meetings.people.cache_clear()
    meetings._alias_patterns.cache_clear()


def test_a_users_people_file_extends_the_bundled_one(tmp_path: Path, clean_people: None) -> None:
    from crawler.extraction import meetings

    archive = Archive(tmp_path / "p.db")
    archive.record(_page(URL, "Ding Xuexiang held talks in Athens on Monday with Takis Theodorikakos.", DING))
    archive.close()
    sources = write_sources(
        tmp_path / "sources.toml", "[source.a]\nstart_urls = ['http://127.0.0.1/']\narticles = ['/a/']\n"
    )
    listed = _cli(tmp_path / "p.db", "--sources", str(sources), "meetings")
    assert listed.exit_code == 0
    assert (
        "1 readouts of meetings name no known person, so they are in no meeting; "
        f"add the people to {tmp_path}/people.toml" in listed.stderr
    )
    assert f"document id 1: {DING}" in listed.stderr
    assert "name no known person" not in _cli(tmp_path / "p.db", "meetings", "--json").stderr
    unknown = _cli(tmp_path / "p.db", "--sources", str(sources), "meetings", "--participant", "丁薛祥")
    assert (
        unknown.exit_code == 1
        and f"unknown person '丁薛祥' (known: crawler/config/people.toml and {tmp_path}/people.toml)" in unknown.stderr
    )
    (tmp_path / "people.toml").write_text('"Ding Xuexiang" = ["Ding Xuexiang", "丁薛祥"]\n"Xi Jinping" = ["习主席"]\n')
    meetings.people.cache_clear()  # a new process reads the files afresh; this one remembers
    known = _cli(tmp_path / "p.db", "--sources", str(sources), "meetings", "--participant", "丁薛祥")
    assert known.exit_code == 0, known.output
    assert os.environ[PEOPLE_ENV] == str(tmp_path / "people.toml")  # what extraction workers and crawls inherit
    meetings.people.cache_clear()
    meetings._alias_patterns.cache_clear()
    found = meetings.recognise(DING, "Ding Xuexiang held talks in Athens on Monday.", "2024-05-06")
    assert found is not None and found.participants == ("Ding Xuexiang",)
    assert meetings.canonical("习主席") == "Xi Jinping" and meetings.canonical("Xi") == "Xi Jinping"  # added, kept


def test_a_bad_people_file_is_refused_naming_it(tmp_path: Path, clean_people: None) -> None:
    sources = write_sources(
        tmp_path / "sources.toml", "[source.a]\nstart_urls = ['http://127.0.0.1/']\narticles = ['/a/']\n"
    )
    (tmp_path / "people.toml").write_text('"Ding Xuexiang" = "Ding"\n')
    result = CliRunner().invoke(main, ["--sources", str(sources), "--db", str(tmp_path / "x.db"), "meetings"])
    assert result.exit_code == 2
    assert f"key 'Ding Xuexiang': {tmp_path}/people.toml: give a list of spellings" in result.stderr


def test_quiet_prints_nothing_but_errors(monitored: Path, tmp_path: Path) -> None:
    loud = _cli(monitored, "backup", str(tmp_path / "loud.db"))
    assert loud.exit_code == 0 and "archive copied to" in loud.stderr
    quiet = _cli(monitored, "backup", "--quiet", str(tmp_path / "quiet.db"))
    assert quiet.exit_code == 0 and quiet.output == "" and (tmp_path / "quiet.db").exists()
    out = tmp_path / "texts"
    assert "wrote 2 documents" in _cli(monitored, "export", "--format", "txt", "--output-dir", str(out)).stderr
    quiet = _cli(monitored, "export", "-q", "--format", "txt", "--output-dir", str(tmp_path / "t2"))
    assert quiet.exit_code == 0 and quiet.output == "" and len(list((tmp_path / "t2").iterdir())) == 2
    assert "pages:" in _cli(monitored, "reextract", "--jobs", "1").stderr
    quiet = _cli(monitored, "reextract", "--jobs", "1", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_a_quiet_crawl_says_nothing_when_it_went_well(tmp_path: Path, serve, readouts) -> None:
    routes = {p: Reply(page.body, page.status, page.content_type) for p, page in sites.build_site("agency").items()}
    server = serve("127.0.0.33", routes)
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.agency]\nstart_urls = ['{server.url('/news/index.htm')}']\narticles = ['/c_\\\\d+\\\\.htm$']\n"
        "delay = 0\n",
    )
    quiet = readouts("--sources", str(sources), "crawl", "--quiet")
    assert quiet.code == 0 and quiet.err == "" and quiet.out == ""
    loud = readouts("--sources", str(sources), "crawl", "--recheck")
    assert loud.code == 0 and loud.err.startswith("run 2 ok: ")
    assert loud.err.splitlines()[-1] == f"  Scrapy's log: {tmp_path / 'archive.db'}.crawl.log"


@pytest.mark.slow
def test_a_read_only_archive_is_served(place: Path) -> None:
    from tests.test_serve import Server

    server = Server(place / "frozen.db")
    try:
        assert "Talks" in server.get("/frozen/documents.json")[1]
    finally:
        server.stop()


@pytest.mark.slow
def test_a_quiet_demo_prints_only_what_it_found_and_what_to_try(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--quiet", "--db", str(tmp_path / "d.db")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'd.db'} now holds 11 pages") and lines[1] == "Try next:"
    assert len(lines) == 8 and "serving" not in result.output and "crawl 1" not in result.output


def test_the_summary_of_a_crawl_that_went_partly_well() -> None:
    from collections import Counter

    from crawler.cli.crawl_summary import summary_lines
    from crawler.run import RunResult
    from spiders.pipeline import RunTally

    tally = RunTally(pages_fetched=5, errors=3, rechecked=2, unchanged=1, changed=1, recleaned=2)
    result = RunResult(7, "ok", tally, {UNRESOLVED: ["a"]}, Counter({HTTP_ERROR: 2}))
    assert summary_lines(result, 2, "x.db.crawl.log")[1:] == [
        "  re-checked 2: 1 unchanged, 1 changed, 0 gone, 0 moved",
        f"  1 source {UNRESOLVED} (a)",
        f"  2 requests {HTTP_ERROR}",
        "  2 archived pages cleaned again of a template learned since",
        "  the details are in Scrapy's log: x.db.crawl.log",
    ]  # one source of two reached: not "no site could be reached"
