"""`readouts import`: WARC files wget wrote from the fixture sites, and readouts' own, into fresh archives; revisits,
unreadable files, and captures older than the live first sight becoming earlier revisions found in retrospect."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from crawler.cli.main import main
from crawler.history.warc_import import warc_date
from storage import changes
from storage.archive import Archive, ArticleText, PageRecord
from storage.placement import EARLIER, INSERT, SAME, Known, place
from tests.conftest import subprocess_env, write_sources
from tests.fixtureweb import sites
from tests.mockserver import Reply, SiteServer
from tests.test_crawl import sources_toml
from tests.warc_records import write_response

WGET = shutil.which("wget")


def _routes(site: str) -> dict[str, Any]:
    return {path: Reply(page.body) for path, page in sites.build_site(site).items()}


class Web:
    """The ministry and embassy fixture sites, their sources file, and WARC files of them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers = {
            "ministry": SiteServer("127.0.0.2", _routes("ministry")).start(),
            "embassy": SiteServer("127.0.0.3", _routes("embassy")).start(),
        }
        self.sources = write_sources(
            tmp / "sources.toml",
            sources_toml(self.servers),
        )

    def wget(self, name: str, *sites_: str) -> Path:
        """Mirror sites with wget into one WARC file (as a user would) and return its path."""
        assert WGET, "wget is a Debian package: apt-get install -y wget"
        urls = [self.servers["ministry"].url("/eng/xw/zyxw/index.html")] * ("ministry" in sites_)
        urls += [self.servers["embassy"].url("/eng/zgyw/index.htm")] * ("embassy" in sites_)
        warc = self.tmp / name
        cmd = [WGET, "-q", "-r", "-l", "3", "-e", "robots=off", "--no-parent", f"--warc-file={warc}"]
        done = subprocess.run([*cmd, "--no-warc-keep-log", "-P", str(self.tmp / f"{name}-files"), *urls])
        assert done.returncode in (0, 8)  # 8: some link answered 404 (the fixture sites link to a few missing pages)
        return warc.with_name(name + ".warc.gz")

    def cli(self, db: Path, *args: str) -> Any:
        return CliRunner().invoke(main, ["--db", str(db), "--sources", str(self.sources), *args])

    def import_(self, db: Path, *args: str) -> dict[str, Any]:
        result = self.cli(db, "import", "--json", "--jobs", "2", *args)
        assert result.exit_code == 0, result.output
        return dict(__import__("json").loads(result.stdout))

    def articles(self) -> set[str]:
        return {self.servers[s].url(a.path) for s in ("ministry", "embassy") for a in sites.articles(s)}

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    web = Web(tmp_path_factory.mktemp("import"))
    yield web
    web.close()


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def warc_dates(path: Path) -> dict[str, str]:
    """URL -> WARC-Date of each response record of a WARC file."""
    with open(path, "rb") as stream:
        return {
            r.rec_headers.get_header("WARC-Target-URI"): warc_date(r.rec_headers.get_header("WARC-Date"))
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        }


def test_a_wget_warc_imports_each_article_page_once_with_its_capture_time_and_file(web: Web) -> None:
    warc = web.wget("both", "ministry", "embassy")
    db = web.tmp / "wget.db"
    first = web.import_(db, str(warc))
    expected = web.articles()
    assert first["matched"] == len(expected) and first["new_pages"] == len(expected)
    assert first["failed"] == 0 and first["unreadable"] == []
    pages = dict(rows(db, "select url, source from pages"))
    assert set(pages) == expected  # listing pages are not article pages of a source: left out
    assert {pages[web.servers["embassy"].url(a.path)] for a in sites.articles("embassy")} == {"embassy"}
    dates = warc_dates(warc)
    for url, captured_at, origin, origin_url, fetched_at in rows(
        db,
        "select p.url, r.captured_at, r.origin, r.origin_url, r.fetched_at from revisions r "
        "join pages p on p.id = r.page_id",
    ):
        assert captured_at == fetched_at == dates[url]  # the record's date, not the time of the import
        assert origin == "warc-file" and origin_url.startswith(f"{warc.resolve()}#<urn:uuid:")
    captures = rows(db, "select count(*) from captures")[0][0]
    assert captures == len(expected)
    for path in (web.tmp / "wget.db.warc").glob("*.warc.gz"):  # wget's records name its warcinfo and requests…
        for _, head in _responses(path).values():  # …so each is written anew, pointing nowhere outside our files
            assert head.get_header("WARC-Warcinfo-ID") is head.get_header("WARC-Concurrent-To") is None
    again = web.import_(db, str(warc))
    assert again["already"] == len(expected) and again["new_pages"] == again["changed"] == again["unchanged"] == 0
    assert rows(db, "select count(*) from captures")[0][0] == captures  # nothing read twice
    history = web.cli(db, "history", sorted(expected)[0])
    assert history.exit_code == 0 and f"from warc-file {warc.resolve()}#<urn:uuid:" in history.output
    assert rows(db, "select count(*) from events where retrospective = 0") == [(0,)]  # nothing to notify


def test_an_imported_page_is_cleaned_as_a_crawl_cleans_it(web: Web) -> None:
    crawled = web.tmp / "crawled-clean.db"
    cmd = [sys.executable, "-m", "crawler", "--db", str(crawled), "--sources", str(web.sources), "crawl", "--json"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300, env=subprocess_env())
    db = web.tmp / "wget-clean.db"
    web.import_(db, str(web.wget("clean", "ministry", "embassy")))
    live = dict(rows(crawled, "select url, content_hash from pages where content_hash is not null"))
    imported = dict(rows(db, "select url, content_hash from pages"))
    assert imported == live  # same extraction, template and hash
    text = rows(db, "select text from documents")
    assert not any("Home" in t.splitlines()[0] for (t,) in text)  # the sites' menus learned as template

    fresh = web.tmp / "own.db"  # readouts' own WARC files into a fresh archive
    own = sorted(str(p) for p in (web.tmp / "crawled-clean.db.warc").glob("*.warc.gz"))
    result = web.import_(fresh, *own)
    assert result["new_pages"] == len(live) and result["unresolved"] == 0
    assert dict(rows(fresh, "select url, content_hash from pages")) == live
    assert dict(rows(fresh, "select p.url, r.captured_at from revisions r join pages p on p.id = r.page_id")) == dict(
        rows(crawled, "select p.url, r.fetched_at from revisions r join pages p on p.id = r.page_id")
    )


def test_with_source_every_html_page_is_imported_as_that_source(web: Web) -> None:
    db = web.tmp / "all.db"
    result = web.import_(db, str(web.wget("ministry-only", "ministry")), "--source", "ministry")
    urls = {u for (u,) in rows(db, "select url from pages")}
    assert result["matched"] == len(sites.build_site("ministry"))  # listing pages too
    assert len(urls) == result["new_pages"] == result["matched"] - result["failed"]
    assert any("/index" in u for u in urls)
    assert {s for (s,) in rows(db, "select distinct source from pages")} == {"ministry"}


def test_bad_input_is_a_clear_error(web: Web, tmp_path: Path) -> None:
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(b"this is not a WARC file\n" * 10)
    result = web.cli(tmp_path / "x.db", "import", str(junk))
    assert result.exit_code == 1 and "cannot read" in result.output and "Traceback" not in result.output
    missing = web.cli(tmp_path / "x.db", "import", str(tmp_path / "none.warc"))
    assert missing.exit_code == 2 and "does not exist" in missing.output
    unknown = web.cli(tmp_path / "x.db", "import", str(junk), "--source", "nope")
    assert unknown.exit_code == 2 and "no source 'nope'" in unknown.output


def _page(title: str, sentence: str) -> bytes:
    body = "".join(
        f"<p>{sentence} Paragraph {n} of a long readout of talks between two ministers.</p>" for n in range(8)
    )
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><article><h1>{title}</h1>{body}</article></body></html>".encode()


def test_revisits_resolve_to_their_originals(tmp_path: Path) -> None:
    sources = write_sources(
        tmp_path / "s.toml", "[source.site]\nstart_urls = ['http://127.0.0.9/']\narticles = ['/news/']\n"
    )
    warc = tmp_path / "heritrix.warc.gz"
    body = _page("Talks with Brazil", "The ministers discussed trade.")
    with open(warc, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        write_response(writer, "http://127.0.0.9/news/1.html", "2019-03-01T10:00:00Z", body)
        write_response(
            writer, "http://127.0.0.9/news/1.html", "2020-03-01T10:00:00Z", body, "http://127.0.0.9/news/1.html"
        )
        write_response(
            writer, "http://127.0.0.9/news/mirror.html", "2020-04-01T10:00:00Z", body, "http://127.0.0.9/news/1.html"
        )
        write_response(writer, "http://127.0.0.9/news/lost.html", "2020-04-01T10:00:00Z", b"elsewhere", "http://x/")
    db = tmp_path / "r.db"
    result = CliRunner().invoke(main, ["--db", str(db), "--sources", str(sources), "import", "--json", str(warc)])
    assert result.exit_code == 0, result.output
    tally = __import__("json").loads(result.stdout)
    assert (tally["new_pages"], tally["new_documents"], tally["duplicates"], tally["unchanged"]) == (2, 1, 1, 1)
    assert tally["unresolved"] == 1  # its original is in no file given
    assert rows(db, "select url, published is not null from pages order by url")[1][0].endswith("mirror.html")
    revisions = rows(db, "select p.url, r.captured_at from revisions r join pages p on p.id = r.page_id order by 1")
    assert revisions == [
        ("http://127.0.0.9/news/1.html", "2019-03-01T10:00:00Z"),
        ("http://127.0.0.9/news/mirror.html", "2020-04-01T10:00:00Z"),
    ]
    # the later captures of the same payload, stored in the same batch as the first, are revisits of it
    captures = rows(db, "select p.url, c.revisit_of is not null from captures c join pages p on p.id = c.page_id")
    assert sorted(captures) == [
        (f"http://127.0.0.9/news/{n}", r) for n, r in (("1.html", 0), ("1.html", 1), ("mirror.html", 1))
    ]


@pytest.mark.parametrize(
    ("captured_at", "content_hash", "kind", "number"),
    [
        ("2020-01-01T00:00:00Z", "a", SAME, 1),  # after revision 1, same text
        ("2019-01-01T00:00:00Z", "a", EARLIER, 1),  # before revision 1, same text: it was there already
        ("2019-01-01T00:00:00Z", "x", INSERT, 1),  # before everything, another text: a new revision 1
        ("2020-01-01T00:00:00Z", "x", INSERT, 2),  # between 1 and 2, another text
        ("2020-01-01T00:00:00Z", "b", EARLIER, 2),  # between 1 and 2 with 2's text: 2 was there earlier
        ("2022-01-01T00:00:00Z", "b", SAME, 2),  # after the newest, same text
        ("2022-01-01T00:00:00Z", "a", INSERT, 3),  # after the newest, the old text back
        ("2021-01-01T00:00:00Z", "b", SAME, 2),  # exactly at revision 2's time
    ],
)
def test_where_a_capture_from_the_past_goes(captured_at: str, content_hash: str, kind: str, number: int) -> None:
    revisions = [Known(1, "2019-06-01T00:00:00Z", "a"), Known(2, "2021-01-01T00:00:00Z", "b")]
    spot = place(revisions, captured_at, content_hash)
    assert (spot.kind, spot.number) == (kind, number)


def _article(text: str) -> ArticleText:
    from crawler.extraction.fingerprint import content_hash

    return ArticleText(content_hash=content_hash(text), text=text, title="Talks")


def test_an_older_capture_is_an_earlier_revision_and_a_change_found_in_retrospect(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    url = "http://127.0.0.9/news/1.html"
    live, old = _article("The ministers agreed on trade."), _article("The ministers discussed trade.")

    def page(article: ArticleText, at: str, origin: str = "live", ref: str | None = None) -> PageRecord:
        return PageRecord(url, "site", "127.0.0.9", 200, article, fetched_at=at, origin=origin, origin_url=ref)

    archive.record(page(live, "2026-11-01T00:00:00Z"))
    memento = "http://127.0.0.5/web/20190301100000id_/" + url
    outcome, created = archive.record(page(old, "2019-03-01T10:00:00Z", "archive", memento))
    assert (outcome, created) == ("changed", False)
    history = changes.history(archive.db, url)
    assert [(r["revision"], r["text"], r["origin"], r["captured_at"]) for r in history] == [
        (1, old.text, "archive", "2019-03-01T10:00:00Z"),
        (2, live.text, "live", "2026-11-01T00:00:00Z"),
    ]
    assert history[0]["origin_url"] == memento
    page_row = archive.db.execute("select content_hash, revision, first_seen from pages").fetchone()
    assert page_row == (live.content_hash, 2, "2019-03-01T10:00:00Z")  # the live text is still the page's
    found = [e for e in changes.events(archive.db) if e["kind"] == "changed"]
    assert [(e["revision"], e["previous_hash"], e["content_hash"], e["retrospective"]) for e in found] == [
        (2, old.content_hash, live.content_hash, 1)
    ]
    assert "-The ministers discussed trade." in found[0]["diff"]
    new_event = [e for e in changes.events(archive.db) if e["kind"] == "new"]
    assert [e["revision"] for e in new_event] == [2]  # the live first sight moved up with its revision
    assert [e["kind"] for e in changes.events(archive.db, pending=True, live=True)] == ["new"]  # never notified

    outcome, _ = archive.record(page(old, "2018-01-01T00:00:00Z", "archive", memento + "?older"))
    assert outcome == "unchanged"  # the old text, seen earlier still: revision 1 dates from then
    assert changes.history(archive.db, url)[0]["captured_at"] == "2018-01-01T00:00:00Z"
    assert len(changes.history(archive.db, url)) == 2
    copies = archive.db.execute("select document_id, current from copies order by document_id").fetchall()
    assert [c[1] for c in copies] == [1, 0]  # the live text's copy is current, the older one is not
    archive.close()


def test_a_gone_page_stays_gone_when_an_older_capture_is_imported(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    url = "http://127.0.0.9/news/1.html"
    text = _article("The ministers agreed on trade.")
    archive.record(PageRecord(url, "site", "127.0.0.9", 200, text, fetched_at="2026-11-01T00:00:00Z"))
    archive.record_gone(PageRecord(url, "site", "127.0.0.9", 404, error="HTTP 404", fetched_at="2026-11-02T00:00:00Z"))
    older = _article("The ministers discussed trade.")
    record = PageRecord(url, "site", "127.0.0.9", 200, older, fetched_at="2019-01-01T00:00:00Z", origin="warc-file")
    archive.record(record)
    assert archive.db.execute("select state from pages").fetchone() == ("gone",)
    assert not [e for e in changes.events(archive.db) if e["kind"] == "back"]
    archive.close()


SHARE = "Suggest to a Friend:"  # the small site's share tool under every article: template, once learned


def _small_site_warc(path: Path, numbers: range) -> Path:
    """A WARC file of filler readouts n of a small site, each with its share tool under the text."""
    from tests.fixtureweb.fillers import FILLERS

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for n in numbers:
            f = FILLERS[n]
            body = "".join(f"<p>{line}</p>" for line in (*f.body, SHARE))
            html = f"<html><head><title>{f.title}</title></head><body><article><h1>{f.title}</h1>{body}</article>"
            write_response(
                writer, f"http://127.0.0.9/a/{n}.html", f"2020-01-0{n + 1}T10:00:00Z", f"{html}</body></html>".encode()
            )
    return path


def _import_small(tmp_path: Path, db: Path, warc: Path) -> dict[str, Any]:
    sources = write_sources(
        tmp_path / "s.toml", "[source.small]\nstart_urls = ['http://127.0.0.9/']\narticles = ['/a/']\n"
    )
    args = ["--db", str(db), "--sources", str(sources), "import", "--json", "--jobs", "1", str(warc)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return dict(__import__("json").loads(result.stdout))


def test_pages_imported_before_a_template_line_is_learned_are_cleaned_of_it_later(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    first = _import_small(tmp_path, db, _small_site_warc(tmp_path / "early.warc.gz", range(2)))
    assert first["new_pages"] == 2 and first["recleaned"] == 0
    texts = [t for (t,) in rows(db, "select d.text from pages p join documents d on d.id = p.document_id")]
    assert all(t.endswith(SHARE) for t in texts)  # two pages are too few to tell a template
    second = _import_small(tmp_path, db, _small_site_warc(tmp_path / "late.warc.gz", range(2, 5)))
    assert second["new_pages"] == 3 and second["recleaned"] == 2
    texts = [t for (t,) in rows(db, "select d.text from pages p join documents d on d.id = p.document_id")]
    assert len(texts) == 5 and not [t for t in texts if SHARE in t]
    assert rows(db, "select count(*) from revisions") == [(5,)]  # cleaning again is no edit: no revision…
    assert rows(db, "select count(*) from events where kind = 'changed'") == [(0,)]  # …and no change
    assert rows(db, "select count(*) from documents") == [(5,)]  # the texts with the share tool are gone


def test_within_one_import_a_later_batch_teaches_the_template_to_the_earlier_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.history import warc_import

    monkeypatch.setattr(warc_import, "BATCH", 2)  # pages 0 and 1, then 2 and 3 (the template learned), then 4
    db = tmp_path / "a.db"
    tally = _import_small(tmp_path, db, _small_site_warc(tmp_path / "all.warc.gz", range(5)))
    assert tally["new_pages"] == 5 and tally["recleaned"] == 2
    texts = [t for (t,) in rows(db, "select d.text from pages p join documents d on d.id = p.document_id")]
    assert len(texts) == 5 and not [t for t in texts if SHARE in t]


def test_extraction_runs_two_batches_ahead_and_a_batch_is_put_on_disk_with_one_fsync_before_it_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from crawler.history import warc_import
    from storage import warc

    steps: list[str] = []
    real_fsync, real_record = os.fsync, Archive.record
    real_submit, real_clean = warc_import.Importer._submit, warc_import.Importer._clean
    monkeypatch.setattr(warc_import, "BATCH", 3)  # pages 0-2, 3-5, then 6…
    monkeypatch.setattr(warc_import, "SYNC_EVERY", 2)  # …each stored two pages a step
    monkeypatch.setattr(warc.os, "fsync", lambda fd: (steps.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(Archive, "record", lambda self, page: (steps.append("record"), real_record(self, page))[1])
    monkeypatch.setattr(warc_import.Importer, "_submit", lambda *a: (steps.append("extract"), real_submit(*a))[1])
    monkeypatch.setattr(warc_import.Importer, "_clean", lambda *a: (steps.append("template"), real_clean(*a))[1])
    tally = _import_small(tmp_path, tmp_path / "a.db", _small_site_warc(tmp_path / "all.warc.gz", range(7)))
    assert tally["new_pages"] == 7
    batch = ["fsync", "record", "record", "fsync", "record"]
    assert steps == [
        *["extract", "extract"],  # the first two batches queued at once
        *["template", "extract", *batch],  # the third queued before the first is stored
        *["template", *batch],
        *["template", "fsync", "record"],
    ]


def test_import_and_backfill_load_no_scrapy() -> None:
    modules = "crawler.history.warc_import, crawler.history.backfill"
    code = f"import sys, {modules}; print(sorted({{'scrapy', 'twisted'}} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # a second or more of imports an import or backfill never uses


def test_import_fills_the_search_indexes_in_batches_as_a_crawl_does_and_misses_no_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.archive
    from storage.search_words import count_matches, pending

    batches: list[int] = []
    real = Archive.index_words
    monkeypatch.setattr(storage.archive, "CRAWL_WORD_INDEX_EVERY", 3)
    monkeypatch.setattr(Archive, "index_words", lambda self: (batches.append(1), real(self))[1])
    db = tmp_path / "a.db"
    assert _import_small(tmp_path, db, _small_site_warc(tmp_path / "all.warc.gz", range(7)))["new_pages"] == 7
    assert len(batches) == 3  # after pages 3 and 6, and the last one when the archive is closed
    conn = sqlite3.connect(db)
    assert pending(conn) == 0
    for doc_id, title in conn.execute("select id, title from documents"):  # each document found by its title
        word = max(title.split(), key=len).strip(",.:")
        assert count_matches(conn, f'"{word}"') >= 1, title
        found = conn.execute("select rowid from documents_words where documents_words match ?", [f'"{word}"'])
        assert doc_id in {r[0] for r in found}, title


def test_extraction_starts_while_the_files_are_indexed_and_each_page_is_read_once_with_its_own_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from crawler.history import warc_import
    from tests.fixtureweb.fillers import FILLERS

    steps: list[str] = []
    real_index, real_submit = warc_import.index, ProcessPoolExecutor.submit

    def submit(self: ProcessPoolExecutor, fn: Any, *args: Any) -> Any:
        steps.append("extract" if fn is warc_import.read_and_extract else "clean")
        return real_submit(self, fn, *args)

    monkeypatch.setattr(warc_import, "BATCH", 2)  # LOOKAHEAD (2) batches of 2: four pages extracted while indexing
    monkeypatch.setattr(warc_import, "index", lambda *a: (real_index(*a), steps.append("indexed"))[0])
    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    # written newest first: the pages extracted early (6, 5, 4, 3) are the last ones stored, by capture time
    warc = _small_site_warc(tmp_path / "reversed.warc.gz", range(6, -1, -1))
    assert _import_small(tmp_path, tmp_path / "a.db", warc)["new_pages"] == 7
    assert steps[: steps.index("indexed")] == ["extract"] * 4
    assert steps.count("extract") == 7  # none read twice
    stored = rows(tmp_path / "a.db", "select p.url, d.title from pages p join documents d on d.id = p.document_id")
    assert sorted(stored) == sorted((f"http://127.0.0.9/a/{n}.html", FILLERS[n].title) for n in range(7))


def _responses(path: Path) -> dict[str, tuple[bytes, Any]]:
    """WARC-Record-ID -> (the record's bytes in the file, its WARC headers) of each response record of a file."""
    found = {}
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type == "response":
                found[record.rec_headers.get_header("WARC-Record-ID")] = (
                    records.get_record_offset(),
                    records.get_record_length(),
                    record.rec_headers,
                )
    data = path.read_bytes()
    return {rid: (data[offset : offset + length], head) for rid, (offset, length, head) in found.items()}


def test_records_the_store_would_write_are_copied_byte_for_byte_and_pywb_replays_each_capture(tmp_path: Path) -> None:
    from storage.warc import body_sha256, store_for
    from tests import pywb_env
    from tests.fixtureweb.fillers import FILLERS
    from tests.test_warc import _warcio_check

    warc = _small_site_warc(tmp_path / "small.warc.gz", range(3))  # warcio's records: copied as they are
    again = FILLERS[0]  # page 0 captured again a year later, the same bytes: stored as a revisit of the copy
    body = "".join(f"<p>{line}</p>" for line in (*again.body, SHARE))
    html = f"<html><head><title>{again.title}</title></head><body><article><h1>{again.title}</h1>{body}</article>"
    with open(warc, "ab") as out:
        page = f"{html}</body></html>".encode()
        write_response(WARCWriter(out, gzip=True), "http://127.0.0.9/a/0.html", "2021-01-01T10:00:00Z", page)
    db = tmp_path / "a.db"
    assert _import_small(tmp_path, db, warc)["new_pages"] == 3
    original = _responses(warc)
    stored = [p for p in sorted((tmp_path / "a.db.warc").glob("*.warc.gz"))]
    copies = {rid: member for path in stored for rid, (member, _) in _responses(path).items()}
    assert len(copies) == 3 and all(member == original[rid][0] for rid, member in copies.items())
    for path in stored:
        check = _warcio_check(path)
        assert check.returncode == 0, check.stdout + check.stderr
    store = store_for(db)
    sql = "select warc_file, warc_offset, body_sha256, payload_digest from captures where revisit_of is null"
    for file, offset, sha256, digest in rows(db, sql):  # the archive's hashes are those of the copied record
        captured = store.read(file, offset)
        assert (body_sha256(captured.body), captured.digest) == (sha256, digest)
    captures = rows(db, "select p.url, c.fetched_at, c.revisit_of from captures c join pages p on p.id = c.page_id")
    assert sorted((u, at, r is not None) for u, at, r in captures)[:2] == [
        ("http://127.0.0.9/a/0.html", "2020-01-01T10:00:00Z", False),
        ("http://127.0.0.9/a/0.html", "2021-01-01T10:00:00Z", True),
    ]
    (tmp_path / "pywb").mkdir()
    server = pywb_env.serve(tmp_path / "pywb", "imported", [str(p) for p in stored])
    try:
        for url, at, _ in captures:
            stamp = at.replace("-", "").replace(":", "").replace("T", "").rstrip("Z")
            n = int(url.rsplit("/", 1)[1].split(".")[0])
            with urllib.request.urlopen(f"{server.base}/imported/{stamp}id_/{url}", timeout=60) as answer:
                assert f"/{stamp}id_/" in answer.url  # this capture, not a neighbour
                assert FILLERS[n].title in answer.read().decode()
    finally:
        server.stop()
