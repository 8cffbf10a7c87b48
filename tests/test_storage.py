"""The archive on its own: migrations, one document per content hash, copies, FTS in several scripts, runs."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from crawler.extraction.fingerprint import content_hash
from storage import query
from storage.archive import (
    DUPLICATE,
    FAILED,
    NEW_DOCUMENT,
    UNCHANGED,
    WAL_CHECKPOINT_PAGES,
    Archive,
    ArticleText,
    PageRecord,
)
from storage.errors import SearchError


def page(
    url: str, text: str | None, source: str = "s", title: str = "Talks", published: str = "2019-06-05"
) -> PageRecord:
    art = ArticleText(content_hash(text), text, title=title, published=published, language="en") if text else None
    return PageRecord(
        url=url, source=source, host=url.split("/")[2], status=200, article=art, error=None if text else "empty"
    )


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "a.db")


def test_migrations_create_schema_once(tmp_path: Path) -> None:
    Archive(tmp_path / "a.db").close()
    again = Archive(tmp_path / "a.db")  # reopening applies nothing twice
    names = set(again.db.table_names())
    assert {"pages", "documents", "copies", "runs", "documents_fts"} <= names
    applied = [r["name"] for r in again.db.query("select name from _sqlite_migrations")]
    assert applied == [
        "0001_core",
        "0002_fts",
        "0003_changes",
        "0004_run_process",
        "0005_stories",
        "0006_meetings",
        "0007_run_stops",
        "0008_readouts_view",
        "0009_fts_reindex_on_text_only",
        "0010_site_template",
        "0011_word_index",
        "0012_archive_identity",
        "0013_capture_payload_digest",
        "0015_document_kinds_and_announcements",
        "0016_provenance",
        "0017_word_index_without_python_triggers",
        "0020_crawl_frontier",
        "0023_cdx_cursors",
        "0024_cdx_resume_keys",
        "0027_trigram_index_in_batches",
    ]
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_fts_follows_text_edits_but_not_story_or_meeting_updates(archive: Archive) -> None:
    archive.record(page("http://127.0.0.2/a.html", "Talks in Kazan on the summit agenda."))
    db = archive.db
    (doc_id,) = db.execute("select id from documents").fetchone()
    writes: list[str] = []
    db.conn.set_trace_callback(writes.append)
    db.execute("update documents set story_id = ?, meeting_id = null where id = ?", [doc_id, doc_id])
    db.conn.set_trace_callback(None)
    assert not [w for w in writes if "documents_fts" in w]  # no re-index for a story or meeting
    db.execute("update documents set text = 'Talks in Beijing.' where id = ?", [doc_id])
    hits = lambda q: db.execute("select count(*) from documents_fts where documents_fts match ?", [q]).fetchone()[0]  # noqa: E731
    assert hits("Beijing") == 1 and hits("Kazan") == 0


def test_same_text_on_three_sites_is_one_document_with_three_copies(archive: Archive) -> None:
    text = "President Xi held talks with President Putin.\nThey agreed on many things."
    outcomes = [
        archive.record(page("http://a.example/1", text, "a"))[0],
        archive.record(page("http://b.example/x", text, "b", title="Xi holds talks"))[0],
        archive.record(page("http://c.example/y", text, "c"))[0],
    ]
    assert outcomes == [NEW_DOCUMENT, DUPLICATE, DUPLICATE]
    docs = list(query.documents(archive.db))
    assert len(docs) == 1
    assert sorted(c["source"] for c in docs[0]["copies"]) == ["a", "b", "c"]
    # each copy keeps its own headline in the export
    titles = {r["url"]: r["title"] for r in query.export_pages(archive.db)}
    assert titles["http://b.example/x"] == "Xi holds talks"


def test_same_title_different_text_are_two_documents(archive: Archive) -> None:
    archive.record(page("http://a.example/1", "Talks in Moscow in June."))
    archive.record(page("http://a.example/2", "Talks in Beijing in February."))
    assert archive.db.table("documents").count == 2


def test_failed_page_is_recorded_without_text_and_not_hashed(archive: Archive) -> None:
    assert archive.record(page("http://a.example/1", None))[0] == FAILED
    row = next(archive.db.query("select * from pages"))
    assert row["error"] == "empty" and row["content_hash"] is None and row["document_id"] is None
    assert archive.db.table("documents").count == 0
    assert list(query.export_pages(archive.db)) == []


def test_rerecording_unchanged_page_adds_nothing(archive: Archive) -> None:
    first = archive.record(page("http://a.example/1", "Same text."))
    second = archive.record(page("http://a.example/1", "Same text."))
    assert first == (NEW_DOCUMENT, True) and second == (UNCHANGED, False)
    assert archive.db.table("pages").count == 1 and archive.db.table("copies").count == 1


def test_search_finds_chinese_russian_and_english(archive: Archive) -> None:
    archive.record(
        page(
            "http://a.example/zh",
            "国家主席习近平同俄罗斯总统普京举行会谈。",
            title="习近平同普京会谈",
            published="2019-06-05",
        )
    )
    archive.record(
        page(
            "http://a.example/ru",
            "Владимир Путин провёл переговоры с Председателем КНР.",
            title="Переговоры",
            published="2017-07-04",
        )
    )
    archive.record(
        page(
            "http://a.example/en",
            "President Xi Jinping held talks with Vladimir Putin.",
            title="Talks",
            published="2023-03-21",
        )
    )
    assert [r["title"] for r in query.search(archive.db, "普京")] == ["习近平同普京会谈"]  # two characters: LIKE
    assert [r["title"] for r in query.search(archive.db, "习近平")] == ["习近平同普京会谈"]  # trigram FTS
    assert [r["title"] for r in query.search(archive.db, "переговоры")] == ["Переговоры"]
    assert [r["title"] for r in query.search(archive.db, "Putin")] == ["Talks"]
    assert [r["title"] for r in query.search(archive.db, "talks", since="2020-01-01")] == ["Talks"]
    assert query.search(archive.db, "talks", until="2018-12-31") == []
    hit = query.search(archive.db, "Jinping")[0]
    assert "[Jinping]" in hit["snippet"] and hit["copies"][0]["url"] == "http://a.example/en"


@pytest.mark.parametrize("nasty", ['" OR 1=1 --', "talks' OR '1'='1", "NEAR(", "--", "a*b:c", "%_%"])
def test_search_input_is_data_not_syntax(archive: Archive, nasty: str) -> None:
    archive.record(page("http://a.example/en", "President Xi Jinping held talks.", title="Talks"))
    assert query.search(archive.db, nasty) == []  # no match, no error, no injection


def test_raw_fts_syntax_error_is_a_clear_message(archive: Archive) -> None:
    archive.record(page("http://a.example/en", "President Xi Jinping held talks.", title="Talks"))
    assert len(query.search(archive.db, "talks OR nothing", raw=True)) == 1
    with pytest.raises(SearchError, match="not a valid search query"):
        query.search(archive.db, 'talks AND "unclosed', raw=True)
    with pytest.raises(SearchError):
        query.search(archive.db, "   ")


def test_runs_record_counts_and_reap_killed_runs(archive: Archive) -> None:
    run_id = archive.start_run(["a", "b"], "manual", pid=2**22 + 12345)  # a pid that does not exist
    assert query.runs(archive.db)[0]["status"] == "running"
    assert archive.reap_dead_runs() == 1
    assert query.runs(archive.db)[0]["status"] == "failed"
    second = archive.start_run(["a"], "scheduled")
    archive.finish_run(second, "ok", {"pages_fetched": 3, "new_documents": 2, "failed": 1, "errors": 0}, [])
    newest = query.runs(archive.db)[0]
    assert newest["run_id"] == second and newest["status"] == "ok" and newest["pages_fetched"] == 3
    assert newest["sources"] == ["a"] and newest["trigger"] == "scheduled" and newest["finished"].endswith("Z")
    assert run_id != second


def test_second_writer_waits_instead_of_failing(tmp_path: Path) -> None:
    first, second = Archive(tmp_path / "a.db"), Archive(tmp_path / "a.db")
    first.db.conn.execute("BEGIN IMMEDIATE")  # another process holds the write lock for a moment
    timer = threading.Timer(0.5, lambda: first.db.conn.execute("COMMIT"))
    timer.start()
    assert second.record(page("http://a.example/1", "Text."))[0] == NEW_DOCUMENT
    timer.join()
    assert second.db.table("pages").count == 1


def test_reader_is_read_only(tmp_path: Path) -> None:
    Archive(tmp_path / "a.db").record(page("http://a.example/1", "Text."))
    reader = Archive(tmp_path / "a.db", readonly=True)
    assert len(list(query.export_pages(reader.db))) == 1
    with pytest.raises(sqlite3.OperationalError):
        reader.db.execute("delete from pages")
    with pytest.raises(FileNotFoundError):
        Archive(tmp_path / "missing.db", readonly=True)


def test_plain_search_ranks_the_newest_matches_and_raw_ranks_all(archive: Archive, monkeypatch) -> None:
    monkeypatch.setattr(query, "RANK_WINDOW", 3)
    texts = ["Talks talks talks talks on trade.", "Talks on oil.", "Talks on grain.", "Talks talks on ports.", "Talk"]
    for n, text in enumerate(texts):
        archive.record(page(f"http://a.example/{n}", text, title=f"Readout {n}"))
    plain = [r["title"] for r in query.search(archive.db, "talks")]
    assert plain[0] == "Readout 3" and set(plain) == {"Readout 1", "Readout 2", "Readout 3"}  # the 3 newest, best first
    assert "[Talks] [talks]" in query.search(archive.db, "talks")[0]["snippet"]
    assert query.search(archive.db, "talks", raw=True)[0]["title"] == "Readout 0"  # bm25 over all


def test_archive_is_a_context_manager_that_closes(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        assert archive.known_urls() == set()
    with pytest.raises(sqlite3.ProgrammingError):
        archive.db.execute("select 1")


def test_a_missing_archive_is_named_before_anything_opens_it(tmp_path: Path) -> None:
    from storage.archive import require

    with pytest.raises(FileNotFoundError, match=r"no archive at .*none\.db: run `readouts crawl` first"):
        require(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()
    Archive(tmp_path / "a.db").close()
    require(tmp_path / "a.db")


def test_a_file_lock_is_a_context_manager(tmp_path: Path) -> None:
    import os

    from crawler.locks import Busy, FileLock, holder

    path = tmp_path / "x.lock"
    with FileLock(path, "x") as lock:
        assert holder(path) == os.getpid() and lock.path == path
        with pytest.raises(Busy), FileLock(path, "x"):
            pass
    with FileLock(path, "x"):  # released at the end of the block
        pass


def test_one_timestamp_format_round_trips() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from storage.clock import format_time, parse_time, utcnow

    moscow = datetime(2026, 11, 24, 13, 0, 5, 999, tzinfo=timezone(timedelta(hours=3)))
    assert format_time(moscow) == "2026-11-24T10:00:05Z"
    assert parse_time("2026-11-24T10:00:05Z") == datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)
    assert parse_time(utcnow()).tzinfo == UTC and len(utcnow()) == len("2026-11-24T10:00:05Z")


@pytest.mark.parametrize("stored", ["2026-11-24T10:00:05Z", "2024-02-29T23:59:59Z", "1999-01-01T00:00:00Z"])
def test_a_stored_timestamp_parses_as_strptime_reads_it(stored: str) -> None:
    """Planted: the fast path's datetime left naive, or its hours misread."""
    from datetime import UTC, datetime

    from storage.clock import TIME_FORMAT, parse_time

    parsed = parse_time(stored)
    assert parsed == datetime.strptime(stored, TIME_FORMAT).replace(tzinfo=UTC) and parsed.tzinfo is not None


@pytest.mark.parametrize("other", ["2026-11-24 10:00:05Z", "2026-W48-2T10:00:05Z", "2026-11-24T10:00:05+03", "x"])
def test_a_timestamp_not_in_the_stored_form_is_refused(other: str) -> None:
    """Planted: the fast path's shape check dropped (fromisoformat reads a space or an ISO week as well)."""
    from storage.clock import parse_time

    with pytest.raises(ValueError):
        parse_time(other)


def test_a_writer_copies_its_wal_into_the_file_only_every_wal_checkpoint_pages(tmp_path: Path) -> None:
    """Planted: the writer's `wal_autocheckpoint` left at SQLite's 1000 pages (its WAL never grows past them)."""
    archive = Archive(tmp_path / "a.db")
    wal, frame = tmp_path / "a.db-wal", 24 + archive.db.execute("PRAGMA page_size").fetchone()[0]
    n = 0
    while wal.stat().st_size < 1500 * frame and n < 2000:  # each page's commit adds a few WAL pages
        archive.record(page(f"http://a.example/{n}", f"Readout number {n}: talks on trade and energy, part {n}."))
        n += 1
    assert wal.stat().st_size >= 1500 * frame  # past 1000 pages without a checkpoint resetting it
    assert WAL_CHECKPOINT_PAGES >= 1500
