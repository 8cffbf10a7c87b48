"""`readouts backfill` against a loopback Wayback CDX server read in both its paging modes: by page (`showNumPages`,
`page=`) and by resume key (`showResumeKey`, `resumeKey=`, the mode of an index that does not page: it answers 400 to
`showNumPages`), two CDX lines an answer. Each backfill is SIGKILLed while its second CDX answer is on the wire; the
rerun resumes at the saved cursor, losing nothing and fetching no CDX answer and no memento twice. The rules of the
resume key one by one first."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote_plus, urlsplit

import pytest

from crawler.config.sources import load_sources
from crawler.history.backfill import Backfill, CdxPage, resume_key_query, split_resume_key, web_archive
from storage import changes
from storage.archive import Archive
from tests.conftest import subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Route, SiteServer

SITE = "http://127.0.0.2:8000"
LINES = 2  # CDX lines an answer, in both modes (the server's own maximum, as the Wayback Machine's is 150,000)
EDITED_FROM = "Both sides also exchanged views on the situations in Ukraine, on the Korean Peninsula, and other issues."
EDITED_TO = "Both sides also exchanged views on the situation on the Korean Peninsula and other issues."
HEADER = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def test_a_resume_key_is_split_from_the_answer_it_ends() -> None:
    rows = [HEADER, ["x", "20190607000000", "http://a/1.html", "text/html", "200", "D1", "10"]]
    cut = json.dumps([*rows, [], ["org%2Carchive%29%2F+19980109140106%21"]])
    assert split_resume_key(cut) == (json.dumps(rows), "org%2Carchive%29%2F+19980109140106%21")
    whole = json.dumps(rows)
    assert split_resume_key(whole) == (whole, None)  # read to its end: no key
    assert split_resume_key(json.dumps([HEADER, [], ["k"]])) == (json.dumps([HEADER]), "k")
    assert split_resume_key(json.dumps([*rows, []])) == (json.dumps([*rows, []]), None)  # no key after the gap
    lines = '{"url": "http://a/1.html"}\n'  # JSON lines (pywb): never a key
    assert split_resume_key(lines) == (lines, None)
    assert split_resume_key("") == ("", None)


def test_a_resume_key_is_sent_back_as_the_server_printed_it() -> None:
    query = "http://i/cdx?url=x&output=json"
    assert resume_key_query(query, None, 5) == query + "&showResumeKey=true&limit=5"
    printed = "org%2Carchive%29%2F+19980109140106%21"
    assert resume_key_query(query, printed, 5).endswith(f"&limit=5&resumeKey={printed}")
    assert resume_key_query(query, "a b&c#d", 5).endswith("&resumeKey=a%20b%26c%23d")  # unescaped: escaped once


def test_progress_names_the_page_or_the_answer() -> None:
    assert CdxPage(1, [], pages=3).where() == " (CDX page 2/3)"
    assert CdxPage(0, [], resume_key="k").where() == " (CDX answer 1)"
    assert CdxPage(2, []).where() == " (CDX answer 3)"
    assert CdxPage(0, []).where() == ""  # an index answering in one go


def test_cursors_of_both_modes_are_kept_apart_and_forgotten_at_the_end(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        archive.set_cdx_cursor("paged", 1, 3)
        archive.set_cdx_resume_key("keyed", 2, "k2")
        assert (archive.cdx_cursor("paged"), archive.cdx_resume_key("paged")) == (1, None)
        assert (archive.cdx_cursor("keyed"), archive.cdx_resume_key("keyed")) == (0, ("k2", 2))
        archive.set_cdx_resume_key("keyed", 3, "k3")
        assert archive.cdx_resume_key("keyed") == ("k3", 3)
        archive.set_cdx_resume_key("keyed", 4, None)
        assert archive.cdx_resume_key("keyed") is None
        assert [r[0] for r in archive.db.execute("select query from cdx_cursors")] == ["paged"]


# --- end to end against a loopback Wayback CDX server -----------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One capture the loopback Wayback Machine holds."""

    url: str
    timestamp: str
    body: bytes

    @property
    def row(self) -> list[str]:
        digest = hashlib.sha1(self.body).hexdigest().upper()
        return [self.url, self.timestamp, self.url, "text/html", "200", digest, str(len(self.body))]


class Wayback:
    """A CDX server paging by `page=` (mode "page") or by resume key (mode "key"), or honouring `limit` but not
    `showResumeKey` (mode "limit"), and `id_` replay. It logs every answer it sent, and holds one request (`hold`)
    until released, answering it never."""

    def __init__(self, lines: list[Line], mode: str) -> None:
        self.lines, self.mode = sorted(lines, key=lambda x: x.timestamp), mode
        self.sent: list[str] = []  # what was answered: "count", "page N", "key N" (from line N), "limit N", a memento
        self.hold: str | None = None  # the CDX answer ("page 1", "key …") to hold
        self.held, self.release = threading.Event(), threading.Event()
        routes: dict[str, Route] = {"/cdx": self._cdx}
        routes |= {f"/{x.timestamp}id_/{x.url}": self._memento for x in lines}
        self.server = SiteServer("127.0.0.8", routes).start()
        self.base = self.server.base

    def key(self, position: int) -> str:
        """The resume key after `position` lines, as the Wayback Machine prints one (escaped)."""
        line = self.lines[position - 1]
        return quote_plus(f"{line.url} {line.timestamp}!")

    def _cdx(self, handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        if query.get("showNumPages") == ["true"]:
            if self.mode != "page":
                self._send(handler, "count", 400, b"Pagination not supported")
                return
            self._send(handler, "count", 200, str(-(-len(self.lines) // LINES)).encode())
            return
        limit = int(query.get("limit", ["0"])[0]) or len(self.lines)
        if self.mode == "page":
            page = int(query["page"][0])
            self._rows(handler, f"page {page}", page * LINES, LINES, keyed=False)
        elif self.mode == "key":
            key = query.get("resumeKey", [""])[0]  # decoded once by parse_qs, as a servlet does
            start = next((n for n in range(1, len(self.lines) + 1) if unquote_plus(self.key(n)) == key), 0)
            self._rows(handler, f"key {start}", start, min(limit, LINES), keyed=True)
        else:
            self._rows(handler, f"limit {limit}", 0, limit, keyed=False)

    def _rows(self, handler: BaseHTTPRequestHandler, what: str, start: int, count: int, keyed: bool) -> None:
        if what == self.hold and not self.held.is_set():
            self.held.set()
            self.release.wait(60)
            return  # the client was killed meanwhile: never answered
        rows: list[list[str]] = [HEADER, *(x.row for x in self.lines[start : start + count])]
        if keyed and start + count < len(self.lines):
            rows += [[], [self.key(start + count)]]
        self._send(handler, what, 200, json.dumps(rows).encode())

    def _memento(self, handler: BaseHTTPRequestHandler) -> None:
        body = next(x.body for x in self.lines if handler.path == f"/{x.timestamp}id_/{x.url}")
        self._send(handler, handler.path, 200, body, "text/html; charset=utf-8")

    def _send(self, handler: BaseHTTPRequestHandler, what: str, status: int, body: bytes, ctype: str = "") -> None:
        self.sent.append(what)  # before the answer: the client may ask its next question as soon as it has this one
        handler.send_response(status)
        handler.send_header("Content-Type", ctype or "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.release.set()
        self.server.stop()


class World:
    """The ministry's readouts in a loopback Wayback Machine, a sources file and the CLI."""

    def __init__(self, tmp: Path, mode: str) -> None:
        self.tmp = tmp
        items = sites.articles("ministry")
        index = {a.path: n for n, a in enumerate(items)}
        html = lambda a: sites.render_article("ministry", a, index[a.path])  # noqa: E731
        self.edited, self.deleted, self.others = items[1], items[3], [items[0], items[2]]
        older = replace(
            self.edited, body_lines=tuple(x.replace(EDITED_FROM, EDITED_TO) for x in self.edited.body_lines)
        )
        assert older.body_lines != self.edited.body_lines
        listing = sites.build_site("ministry")["/eng/xw/zyxw/index.html"].body
        lines = [
            Line(SITE + self.edited.path, "20190620080000", html(older)),
            Line(SITE + self.edited.path, "20200120080000", html(self.edited)),
            Line(SITE + self.deleted.path, "20190621080000", html(self.deleted)),
            Line(SITE + self.others[0].path, "20200121080000", html(self.others[0])),
            Line(SITE + self.others[1].path, "20200122080000", html(self.others[1])),
            Line(SITE + "/eng/xw/zyxw/index.html", "20200124080000", listing),  # no article: never fetched
        ]
        self.mementos = {f"/{x.timestamp}id_/{x.url}" for x in lines if "index.html" not in x.url}
        self.wayback = Wayback(lines, mode)
        self.sources = write_sources(
            tmp / "sources.toml",
            f"""[source.ministry]
start_urls = ['{SITE}/eng/xw/zyxw/index.html']
articles = ['/eng/xw/zyxw/\\d{{6}}/t\\d{{8}}_\\d+\\.html$']
delay = 0
""",
        )
        self.db = tmp / "a.db"

    def command(self) -> list[str]:
        cli = [sys.executable, "-m", "crawler", "--db", str(self.db), "--sources", str(self.sources)]
        return [*cli, "backfill", "ministry", "--archive", self.wayback.base, "--delay", "0", "--jobs", "1", "--json"]

    def cursors(self) -> list[tuple[Any, ...]]:
        with Archive(self.db, readonly=True) as archive:
            return [tuple(r) for r in archive.db.execute("select next_page, pages, resume_key from cdx_cursors")]


def _killed_and_rerun(w: World, hold: str) -> dict[str, Any]:
    """Run a backfill, SIGKILL it while the CDX answer `hold` is on the wire, then run it again to its end."""
    state: dict[str, Any] = {}
    w.wayback.hold = hold
    first = subprocess.Popen(w.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=subprocess_env())
    try:
        assert w.wayback.held.wait(120), "the backfill never asked for its second CDX answer"
    finally:
        first.kill()  # SIGKILL
        _, err = first.communicate(timeout=60)
    w.wayback.release.set()
    assert first.returncode == -9, err.decode()
    state["first_sent"] = list(w.wayback.sent)
    state["cursors_after_kill"] = w.cursors()
    state["staged"] = sorted(p.name for p in w.db.with_name("a.db.backfill").glob("*.warc.gz"))
    again = subprocess.run(w.command(), capture_output=True, text=True, timeout=300, env=subprocess_env())
    assert again.returncode == 0, again.stderr
    state["second"] = json.loads(again.stdout)
    state["second_sent"] = w.wayback.sent[len(state["first_sent"]) :]
    state["cursors_at_end"] = w.cursors()
    return state


@pytest.fixture(scope="module", params=["page", "key"])
def killed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Any]]:
    w = World(tmp_path_factory.mktemp(f"wayback-{request.param}"), request.param)
    hold = "page 1" if request.param == "page" else f"key {LINES}"
    try:
        yield w, _killed_and_rerun(w, hold)
    finally:
        w.wayback.close()


@pytest.mark.slow
def test_a_backfill_killed_mid_paging_saved_where_it_stopped(killed: tuple[World, dict[str, Any]]) -> None:
    w, state = killed
    first_answer = ["count", "page 0"] if w.wayback.mode == "page" else ["count", "key 0"]
    fetched = [s for s in state["first_sent"] if s.startswith("/")]
    assert [s for s in state["first_sent"] if not s.startswith("/")] == first_answer
    assert len(fetched) == 2  # the first answer's two lines: the older wording and the deleted page
    assert state["staged"] != []  # its mementos, staged before the cursor moved on
    if w.wayback.mode == "page":
        assert state["cursors_after_kill"] == [(1, 3, None)]
    else:
        assert state["cursors_after_kill"] == [(1, 0, w.wayback.key(LINES))]


@pytest.mark.slow
def test_the_rerun_resumes_at_the_cursor_losing_nothing_and_fetching_nothing_twice(
    killed: tuple[World, dict[str, Any]],
) -> None:
    w, state = killed
    sent = state["first_sent"] + state["second_sent"]
    answers = [s for s in sent if not s.startswith("/") and s != "count"]
    assert len(answers) == len(set(answers)) == 3  # every CDX answer read once, across both runs
    second = [s for s in state["second_sent"] if not s.startswith("/") and s != "count"]
    assert second == (["page 1", "page 2"] if w.wayback.mode == "page" else ["key 2", "key 4"])  # from the cursor on
    mementos = [s for s in sent if s.startswith("/")]
    assert sorted(mementos) == sorted(w.mementos)  # every memento once: nothing lost, nothing fetched twice
    assert state["second"]["resumed"] == 1 and state["second"]["fetched"] == 3
    assert state["second"]["errors"] == [] and state["cursors_at_end"] == []
    with Archive(w.db, readonly=True) as archive:
        urls = {r[0] for r in archive.db.execute("select url from pages")}
        edited = changes.history(archive.db, SITE + w.edited.path)
    assert urls == {SITE + a.path for a in (w.edited, w.deleted, *w.others)}
    assert [(h["revision"], h["captured_at"]) for h in edited] == [
        (1, "2019-06-20T08:00:00Z"),
        (2, "2020-01-20T08:00:00Z"),
    ]
    assert EDITED_TO in edited[0]["text"] and EDITED_FROM in edited[1]["text"]


def test_an_index_that_honours_limit_but_not_resume_keys_is_read_whole(tmp_path: Path) -> None:
    w = World(tmp_path, "limit")
    try:
        backfill = Backfill(str(w.db), load_sources(w.sources), web_archive(w.wayback.base), delay=0, jobs=1)
        backfill.resume_limit = LINES
        tally = backfill.run(["ministry"])
    finally:
        w.wayback.close()
    assert [s for s in w.wayback.sent if not s.startswith("/")] == ["count", f"limit {LINES}", "limit 6"]
    assert tally.fetched == len(w.mementos) == 5 and tally.new_pages == 4
    assert w.cursors() == []
