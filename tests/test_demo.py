"""`readouts demo` end to end: the sample web crawled twice, and a printed summary that matches the archive."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.web import CHROME, SCRAPED_CHROME
from tests.conftest import subprocess_env, write_sources
from tests.test_serve import demo_ran

pytestmark = pytest.mark.slow


def test_demo_runs_offline_and_reports_what_the_archive_holds(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, readouts
) -> None:
    # the run test_serve's archive is made from (once per test run): a `readouts demo` process, exit code checked
    ran = demo_ran(tmp_path_factory)
    db, printed = ran / "demo.db", (ran / "out.txt").read_text()
    found = re.search(
        r"holds (\d+) pages as (\d+) documents \((\d+) published on more than one site\), (\d+) meetings, "
        r"(\d+) change caught",
        printed,
    )
    assert found, printed
    pages, documents, republished, meetings, changed = map(int, found.groups())
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        assert pages == one("select count(*) from pages where content_hash is not null") == 11
        assert documents == one("select count(*) from documents")
        assert republished == one(
            "select count(*) from (select document_id from copies group by document_id having count(*) > 1)"
        )
        assert meetings == one("select count(*) from meetings") == 5  # 2014, 2018, 2019, 2022, 2023
        assert changed == one("select count(*) from events where kind = 'changed'") == 1
        assert one("select count(*) from runs where status = 'ok'") == 2
        texts = [text for (text,) in conn.execute("select text from documents")]
    # no menu, breadcrumb, share or app-store line in any archived document: the sites serve their own template on
    # every page, the seeds the template of the sites they were scraped from
    served = {*(line for above, below in CHROME.values() for line in (*above, *below))}
    scraped = {line for lines in SCRAPED_CHROME.values() for line in lines}
    chrome = {" ".join(line.split()).casefold() for line in served | scraped}
    assert len(chrome) >= 6
    for text in texts:
        for line in text.splitlines():
            squashed = " ".join(line.split()).casefold()
            assert squashed not in chrome, line
            assert not squashed.startswith(("home >", "home embassy info")), line
            assert "suggest to a friend" not in squashed and "apple store" not in squashed, line
    command = f"{sys.executable} -m crawler --db {db}"  # the `readouts` it runs, as a command that works when copied
    assert command in printed and "serve" in printed  # what to try next
    for line in (line.strip() for line in printed.splitlines() if line.strip().startswith(command)):
        if " search " in line:  # the suggested searches work as printed and find something
            done = subprocess.run(line, shell=True, capture_output=True, text=True, env=subprocess_env(), timeout=60)
            assert done.returncode == 0 and done.stdout.strip(), line
    mine = tmp_path / "readouts-demo.db"
    shutil.copyfile(db, mine)  # a demo archive of this test's own: the demo removes it and makes a new one
    again = readouts("demo", "--db", str(mine), timeout=300)
    assert again.code == 0 and "removed the previous demo archive" in again.out
    assert re.search(r"holds 11 pages as \d+ documents", again.out), again.out


def test_demo_never_overwrites_a_real_archive(tmp_path: Path, serve, readouts) -> None:
    db = tmp_path / "mine.db"
    sources = write_sources(
        tmp_path / "s.toml", "[source.mine]\nstart_urls = ['http://127.0.0.1:9/']\narticles = ['/a/']\n"
    )
    readouts("--sources", str(sources), "crawl", db=db)
    before = db.read_bytes()
    result = readouts("demo", "--db", str(db))
    assert result.code == 1 and "not a demo archive" in result.err
    assert db.read_bytes() == before
