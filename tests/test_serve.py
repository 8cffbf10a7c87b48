"""`readouts serve` against a running Datasette on a demo archive: search, meetings, diffs, SQL off, escaping."""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.demo.web import EDIT
from crawler.model import Meeting
from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import subprocess_env
from tests.once import built_once, shared_dir

pytestmark = pytest.mark.slow
HOSTILE_TITLE = "<script>alert(1)</script> Xi Jinping holds talks with Vladimir Putin"
HOSTILE_TEXT = "<img src=x onerror=alert(2)> On June 5, 2019 Xi Jinping held talks with Vladimir Putin in Moscow."
HOSTILE_URL = "http://127.0.0.9/news/hostile.html"
OTHER_SIDE_URL = "http://127.0.0.9/events/president/news/60669"
OTHER_SIDE_TEXT = (
    "Xi Jinping held talks with Vladimir Putin at the Kremlin in Moscow on June 5, 2019.\n"
    "The presidents walked to the <b>river</b> bank to feed the swans."
)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`readouts serve` in a subprocess."""

    def __init__(self, db: Path, *args: str) -> None:
        """Start serving the archive and wait until it answers."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "crawler", "--db", str(db), "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120  # a guard: it returns as soon as Datasette answers, slower on a loaded machine
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.communicate()[1]
                time.sleep(0.2)
        self.proc.kill()  # not left running (and reported by whichever later test collects it)
        self.proc.communicate()
        raise AssertionError("readouts serve did not answer")

    def get(self, path: str) -> tuple[int, str]:
        """GET a path; return the status and the body."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def json(self, path: str) -> object:
        """GET a JSON path."""
        status, body = self.get(path)
        assert status == 200, body[:500]
        return json.loads(body)

    def stop(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        self.proc.communicate(timeout=10)


def demo_run(folder: Path) -> None:
    """`readouts demo` into `folder/demo.db`, what it printed kept beside it (`folder/out.txt`)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--db", str(folder / "demo.db")],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,  # a guard: two crawls of the sample web took over 180 s with four workers on a loaded machine
    )
    assert done.returncode == 0, done.stderr
    (folder / "out.txt").write_text(done.stdout)


def demo_ran(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of one `readouts demo` run, made once per test run for every module and worker: never written to."""
    return built_once(shared_dir(tmp_path_factory) / "demo-run", demo_run)


def demo_archive(folder: Path, ran: Path) -> Path:
    """A demo archive (crawled twice, with an edit), plus a document holding markup in its title and text."""
    # a reader of the run may have left SQLite's -shm beside it; the demo's own process checkpointed and closed
    shutil.copytree(ran, folder, ignore=shutil.ignore_patterns("*-wal", "*-shm", "out.txt"))
    db = folder / "demo.db"
    store = Archive(db)
    hostile = ArticleText(
        content_hash="f" * 64,
        text=HOSTILE_TEXT,
        title=HOSTILE_TITLE,
        published="2019-06-05",
        meeting=Meeting("talks", "2019-06-05", "Moscow", ("Xi Jinping", "Vladimir Putin")),
    )
    store.record(PageRecord(url=HOSTILE_URL, source="hostile", host="127.0.0.9", status=200, article=hostile))
    other_side = ArticleText(
        content_hash="d" * 64,
        text=OTHER_SIDE_TEXT,
        title="Russian-Chinese talks",
        published="2019-06-05",
        language="en",
        meeting=Meeting("talks", "2019-06-05", "Moscow", ("Xi Jinping", "Vladimir Putin")),
        document_kind="talks",
    )
    store.record(PageRecord(url=OTHER_SIDE_URL, source="kremlin", host="127.0.0.9", status=200, article=other_side))
    store.close()
    return db


def demo_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the demo archive (`demo_archive`), which is built once per test run for every module and worker."""
    ran = demo_ran(tmp_path_factory)
    built = built_once(shared_dir(tmp_path_factory) / "demo-archive", lambda folder: demo_archive(folder, ran))
    copy = tmp_path_factory.mktemp(name) / "archive"
    shutil.copytree(built, copy)  # each module its own: a module may write to it without the others seeing
    return copy / "demo.db"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo archive, for this module."""
    return demo_copy(tmp_path_factory, "serve")


@pytest.fixture(scope="module")
def server(archive: Path) -> Iterator[Server]:
    """`readouts serve` on the archive, with the defaults."""
    running = Server(archive)
    yield running
    running.stop()


def test_search_finds_a_chinese_phrase(server: Server) -> None:
    rows = server.json("/demo/readouts.json?_shape=array&_search=" + quote("全面战略协作"))
    assert [r["title"] for r in rows] == ["习近平同俄罗斯总统普京举行会谈"]  # type: ignore[index]
    rows = server.json("/demo/documents.json?_shape=array&_search=" + quote("普京举行会谈"))
    assert len(rows) == 1  # type: ignore[arg-type]


def test_facets_by_source_language_and_year(server: Server) -> None:
    page = server.json("/demo/readouts.json")
    facets = page["facet_results"]  # type: ignore[index]
    # by default only the cheap columns: the sources facet costs a subquery per match (issue 16's 20 ms at 100k)
    assert set(facets) == {"language", "year"}
    years = {row["value"] for row in facets["year"]["results"]}
    assert {"2014", "2018", "2019", "2022", "2023"} <= years
    page = server.json("/demo/readouts.json?_search=" + quote("普京"))
    assert page["rows"] and not page["facet_results"]  # type: ignore[index]  # a search pays for no facet unasked
    page = server.json("/demo/readouts.json?_facet=sources&_search=" + quote("普京"))
    sources = {row["value"] for row in page["facet_results"]["sources"]["results"]}  # type: ignore[index]
    assert sources and all(json.loads(value) for value in sources)  # each a JSON list of the sources of a text


def test_the_meeting_page_lists_every_copy(server: Server, archive: Path) -> None:
    with sqlite3.connect(archive) as db:
        (meeting,) = db.execute("select meeting_id from documents where title like '习近平%'").fetchone()
        (documents,) = db.execute("select count(*) from documents where meeting_id = ?", [meeting]).fetchone()
        urls = [
            url
            for (url,) in db.execute(
                "select c.url from copies c join documents d on d.id = c.document_id "
                "where d.meeting_id = ? and c.current = 1",
                [meeting],
            )
        ]
    assert len(urls) >= 4  # the ministry (edited), the embassy, the news portal, the Chinese page
    status, page = server.get(f"/-/readouts/meeting/{meeting}")
    assert status == 200
    for url in urls:
        assert url in page
    assert "习近平同俄罗斯总统普京举行会谈" in page
    assert page.count('<section class="readouts-doc"') == documents  # side by side, one column per document
    assert server.get("/-/readouts/meeting/99999")[0] == 404


def test_the_history_page_shows_both_versions_of_the_edited_sentence(server: Server, archive: Path) -> None:
    with sqlite3.connect(archive) as db:
        (url,) = db.execute("select url from events where kind = 'changed'").fetchone()
    status, page = server.get("/-/readouts/history?url=" + quote(url, safe=""))
    assert status == 200
    removed = [line for line in page.splitlines() if 'class="removed"' in line]
    added = [line for line in page.splitlines() if 'class="added"' in line]
    text = lambda line: re.sub("</?mark>", "", line)  # noqa: E731
    assert any(EDIT[0] in text(line) for line in removed) and any(EDIT[1] in text(line) for line in added)
    # the changed words are marked, the kept ones are not
    assert any("<mark>over</mark> the 70 years <mark>since diplomatic ties began,</mark>" in line for line in added)
    assert any("<mark> establishment of diplomatic relations</mark> 70 years" in line for line in removed)
    assert page.count('<td class="origin">live</td>') == 2  # where each revision came from


def test_arbitrary_sql_is_refused_unless_allowed(server: Server, archive: Path) -> None:
    assert server.get("/demo.json?sql=" + quote("select count(*) from pages"))[0] == 403
    assert server.json("/demo/latest_readouts.json?_shape=array")  # canned queries still work
    for name in ("meetings_with_documents", "changes_last_7_days", "source_health"):
        assert server.get(f"/demo/{name}.json")[0] == 200, name
    allowed = Server(archive, "--allow-sql")
    try:
        rows = allowed.json("/demo.json?_shape=array&sql=" + quote("select count(*) as n from pages"))
        assert rows[0]["n"] > 0  # type: ignore[index]
        status, _ = allowed.get("/demo.json?sql=" + quote("delete from pages"))
        assert status != 200  # still read-only
    finally:
        allowed.stop()


def test_stored_markup_comes_back_escaped(server: Server, archive: Path) -> None:
    with sqlite3.connect(archive) as db:
        document, meeting = db.execute(
            "select id, meeting_id from documents where content_hash = ?", ["f" * 64]
        ).fetchone()
    pages = [
        server.get(f"/-/readouts/meeting/{meeting}")[1],
        server.get("/-/readouts/history?url=" + quote(HOSTILE_URL, safe=""))[1],
        server.get(f"/demo/documents/{document}")[1],
        server.get("/demo/readouts?_search=" + quote("onerror"))[1],
    ]
    for page in pages:
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img src=x onerror=alert(2)&gt;" in page


def test_the_archive_is_read_live_and_never_written(server: Server, archive: Path) -> None:
    store = Archive(archive)  # a crawl writing while the server runs
    late = ArticleText(content_hash="e" * 64, text="A late readout about a phone call.", title="Late phone call")
    store.record(
        PageRecord(url="http://127.0.0.9/news/late.html", source="late", host="127.0.0.9", status=200, article=late)
    )
    store.close()
    rows = server.json("/demo/documents.json?_shape=array&title=" + quote("Late phone call"))
    assert len(rows) == 1  # type: ignore[arg-type]
    (database,) = server.json("/-/databases.json")  # type: ignore[misc]
    assert database["is_mutable"] and not database["is_memory"]  # opened mode=ro, never immutable


def test_bound_to_loopback_only(server: Server) -> None:
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", server.port), timeout=2):
        pass


def test_the_meeting_page_shows_two_readouts_side_by_side_with_shared_statements_linked(
    server: Server, archive: Path
) -> None:
    with sqlite3.connect(archive) as db:
        (meeting, kremlin) = db.execute(
            "select meeting_id, id from documents where content_hash = ?", ["d" * 64]
        ).fetchone()
    status, page = server.get(f"/-/readouts/meeting/{meeting}")
    assert status == 200 and '<table class="readouts-compare">' in page
    # the talks sentence is on one row with its counterpart, each linking to the other
    rows = [row.split("</tr>")[0] for row in page.split('<tr class="readouts-shared">')[1:]]
    (shared, *_) = [row for row in rows if "Xi Jinping held talks with Vladimir Putin at the Kremlin" in row]
    assert "On June 5, 2019 local time" in shared
    assert f'id="s-{kremlin}-0-' in shared and f'href="#s-{kremlin}-0-' in shared
    only = [row for row in page.split('<tr class="readouts-only">')[1:] if "feed the swans" in row]
    assert only and "(not said)" in only[0]
    assert "&lt;b&gt;river&lt;/b&gt;" in page and "<b>river</b>" not in page
