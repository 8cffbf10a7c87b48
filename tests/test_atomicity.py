"""One transaction per page: an error raised at any step of `Archive.record` leaves nothing of that page behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extraction.fingerprint import content_hash
from crawler.extraction.neardup import fingerprint
from crawler.model import Meeting
from storage.archive import Archive, ArticleText, PageRecord
from storage.warc import CaptureRef

TABLES = ("pages", "documents", "copies", "revisions", "captures", "events", "meetings", "lsh_bands", "documents_fts")
TEXT = "Xi Jinping held talks with Vladimir Putin on Tuesday in Beijing. The two sides agreed to deepen cooperation."


class Planted(Exception):
    """The error a test raises part-way through a write."""


def counts(archive: Archive) -> dict[str, int]:
    """Rows in every table a page write touches."""
    return {t: archive.db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def page(url: str, text: str) -> PageRecord:
    """A fetched page with a capture, a story signature and a meeting: every step of `record` has work to do."""
    fp = fingerprint(text)
    art = ArticleText(
        content_hash(text),
        text,
        title="Talks",
        published="2024-03-06",
        signature=fp.signature,
        bands=fp.bands,
        meeting=Meeting("talks", "2024-03-05", "Beijing", ("Vladimir Putin", "Xi Jinping")),
    )
    ref = CaptureRef(file="x.warc.gz", offset=0, length=10, sha256=content_hash(url))
    return PageRecord(url=url, source="s", host="h", status=200, article=art, capture=ref)


# each step of a page write, patched to raise after the steps before it have written their rows
STEPS = [
    ("storage.archive", "meeting_for"),
    ("storage.archive", "story_of"),
    ("storage.archive", "index_bands"),
    ("storage.archive.Archive", "_capture"),
    ("storage.archive.Archive", "_revision"),
    ("storage.archive.Archive", "_event"),
]


@pytest.mark.parametrize(("where", "name"), STEPS)
def test_an_error_part_way_through_record_leaves_nothing(tmp_path: Path, monkeypatch, where: str, name: str) -> None:
    archive = Archive(tmp_path / "a.db")
    archive.record(page("http://h/first", "An earlier readout that is already archived and stays."))
    before = counts(archive)

    def fail(*args: object, **kwargs: object) -> None:
        raise Planted(name)

    monkeypatch.setattr(f"{where}.{name}", fail)
    with pytest.raises(Planted):
        archive.record(page("http://h/second", TEXT))
    assert counts(archive) == before
    monkeypatch.undo()
    archive.record(page("http://h/second", TEXT))  # the archive is usable and the page goes in whole
    after = counts(archive)
    assert all(after[t] > before[t] for t in ("pages", "documents", "copies", "revisions", "captures", "events"))


def test_an_error_in_a_change_leaves_the_previous_revision_current(tmp_path: Path, monkeypatch) -> None:
    archive = Archive(tmp_path / "a.db")
    archive.record(page("http://h/a", TEXT))
    before = counts(archive)
    row = archive.db.execute("select content_hash, revision, document_id from pages").fetchone()

    def fail(*args: object, **kwargs: object) -> None:
        raise Planted("event")

    monkeypatch.setattr("storage.archive.Archive._event", fail)
    with pytest.raises(Planted):
        archive.record(page("http://h/a", TEXT + " One sentence was added later."))
    assert counts(archive) == before
    assert archive.db.execute("select content_hash, revision, document_id from pages").fetchone() == row
    assert archive.db.execute("select count(*) from copies where current = 1").fetchone()[0] == 1
