"""The archive's schema as numbered migrations (sqlite-utils' Migrations)."""

from __future__ import annotations

import uuid

from sqlite_utils import Database, Migrations

from storage import search_words
from storage.clock import utcnow

migrations = Migrations("readouts")


@migrations(name="0001_core")
def m0001_core(db: Database) -> None:
    """Create pages, documents, copies, runs and the per-site line counts."""
    db.table("documents").create(
        {
            "id": int,
            "content_hash": str,
            "title": str,
            "published": str,
            "language": str,
            "text": str,
            "first_seen": str,
        },
        pk="id",
        not_null={"content_hash", "text", "first_seen"},
    )
    db.table("documents").create_index(["content_hash"], unique=True)
    db.table("documents").create_index(["published"])
    db.table("pages").create(
        {
            "id": int,
            "url": str,
            "source": str,
            "host": str,
            "status": int,
            "first_seen": str,
            "last_checked": str,
            "content_hash": str,
            "document_id": int,
            "title": str,
            "published": str,
            "author": str,
            "sitename": str,
            "language": str,
            "error": str,
            "etag": str,
            "last_modified": str,
            "content_type": str,
        },
        pk="id",
        not_null={"url", "source", "host", "first_seen", "last_checked"},
        foreign_keys=[("document_id", "documents", "id")],
    )
    db.table("pages").create_index(["url"], unique=True)
    db.table("pages").create_index(["source"])
    db.table("pages").create_index(["document_id"])
    db.table("copies").create(
        {"id": int, "document_id": int, "page_id": int, "url": str, "source": str, "first_seen": str},
        pk="id",
        not_null={"document_id", "page_id", "url", "source", "first_seen"},
        foreign_keys=[("document_id", "documents", "id"), ("page_id", "pages", "id")],
    )
    db.table("copies").create_index(["document_id", "page_id"], unique=True)
    db.table("copies").create_index(["source"])
    db.table("runs").create(
        {
            "id": int,
            "sources": str,
            "trigger": str,
            "started": str,
            "finished": str,
            "status": str,
            "pid": int,
            "pages_fetched": int,
            "new_pages": int,
            "new_documents": int,
            "duplicates": int,
            "failed": int,
            "errors": int,
            "error_samples": str,
        },
        pk="id",
        not_null={"sources", "trigger", "started", "status"},
    )
    # line keys seen per host, counted once per page: the raw material of template detection
    db.table("site_lines").create({"host": str, "line_key": str, "pages": int}, pk=("host", "line_key"))
    db.table("site_pages").create({"host": str, "pages": int}, pk="host")


@migrations(name="0002_fts")
def m0002_fts(db: Database) -> None:
    """Full-text index over documents: trigram tokenizer, so Chinese and Russian words are found too."""
    db.table("documents").enable_fts(["title", "text"], tokenize="trigram", create_triggers=True)


@migrations(name="0003_changes")
def m0003_changes(db: Database) -> None:
    """Change monitoring: page state and re-check schedule, revisions, captures (WARC records) and events."""
    pages = db.table("pages")
    pages.add_column("state", str)  # live, gone or moved (null: live)
    pages.add_column("moved_to", str)
    pages.add_column("changed_at", str)  # first seen, or when the text last changed: the re-check ladder's base
    pages.add_column("next_check", str)
    pages.add_column("revision", int)  # newest revision number
    pages.create_index(["source", "next_check"])
    db.execute("update pages set changed_at = first_seen, next_check = last_checked where content_hash is not null")
    db.table("revisions").create(
        {
            "id": int,
            "page_id": int,
            "number": int,
            "fetched_at": str,
            "content_hash": str,
            "document_id": int,
            "title": str,
            "body_sha256": str,
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
            "capture_id": int,  # the capture (WARC record) of this revision's response
        },
        pk="id",
        not_null={"page_id", "number", "fetched_at", "content_hash", "document_id"},
        foreign_keys=[("page_id", "pages", "id"), ("document_id", "documents", "id")],
    )
    db.table("revisions").create_index(["page_id", "number"], unique=True)
    # pages archived before this migration get their current text as revision 1
    db.execute(
        """insert into revisions (page_id, number, fetched_at, content_hash, document_id, title)
           select id, 1, last_checked, content_hash, document_id, title from pages where content_hash is not null"""
    )
    db.execute("update pages set revision = 1 where content_hash is not null")
    db.table("captures").create(
        {
            "id": int,
            "page_id": int,
            "url": str,
            "fetched_at": str,
            "status": int,
            "body_sha256": str,
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
            "revisit_of": int,  # the capture holding the identical body, for WARC revisit records
        },
        pk="id",
        not_null={"url", "fetched_at", "body_sha256", "warc_file", "warc_offset", "warc_length"},
        foreign_keys=[("page_id", "pages", "id"), ("revisit_of", "captures", "id")],
    )
    db.table("captures").create_index(["body_sha256"])
    db.table("captures").create_index(["page_id"])
    db.table("events").create(
        {
            "id": int,
            "at": str,
            "kind": str,
            "page_id": int,
            "url": str,
            "source": str,
            "title": str,
            "revision": int,
            "previous_hash": str,
            "content_hash": str,
            "diff": str,
            "target": str,
            "notified_at": str,
        },
        pk="id",
        not_null={"at", "kind", "page_id", "url", "source"},
        foreign_keys=[("page_id", "pages", "id")],
    )
    db.table("events").create_index(["at"])
    db.table("events").create_index(["notified_at"])
    db.table("copies").add_column("current", int, not_null_default=1)
    for column in ("rechecked", "unchanged", "changed", "gone", "moved"):
        db.table("runs").add_column(column, int, not_null_default=0)


@migrations(name="0004_run_process")
def m0004_run_process(db: Database) -> None:
    """Runs made by the scheduler: the crawl process's exit code and duration."""
    db.table("runs").add_column("exit_code", int)
    db.table("runs").add_column("duration", float)


@migrations(name="0005_stories")
def m0005_stories(db: Database) -> None:
    """Near-duplicate stories: each document's MinHash signature and story id, and the LSH band index."""
    db.table("documents").add_column("story_id", int)
    db.table("documents").add_column("minhash", bytes)
    db.table("documents").create_index(["story_id"])
    db.table("lsh_bands").create({"band_key": str, "document_id": int}, pk=("band_key", "document_id"))
    db.execute("update documents set story_id = id")


@migrations(name="0006_meetings")
def m0006_meetings(db: Database) -> None:
    """Meetings: the event a readout reports, shared by the documents of every site and language that report it."""
    db.table("meetings").create(
        {"id": int, "date": str, "kind": str, "place": str, "participants": str},
        pk="id",
    )
    db.table("meetings").create_index(["date"])
    db.table("documents").add_column("meeting_id", int)
    db.table("documents").create_index(["meeting_id"])


@migrations(name="0007_run_stops")
def m0007_run_stops(db: Database) -> None:
    """Sources a run stopped early (blocked by 403s, asked to wait too long): {source: reason} as JSON."""
    db.table("runs").add_column("stopped", str, not_null_default="{}")


@migrations(name="0008_readouts_view")
def m0008_readouts_view(db: Database) -> None:
    """A view of documents for browsing: year, the sources carrying each (JSON list) and its number of copies."""
    db.create_view(
        "readouts",
        """select d.id, d.title, d.published, substr(d.published, 1, 4) as year, d.language,
       (select json_group_array(distinct c.source) from copies c where c.document_id = d.id) as sources,
       (select count(*) from copies c where c.document_id = d.id) as copies,
       d.meeting_id, d.story_id, d.first_seen, d.text
from documents d""",
    )


@migrations(name="0009_fts_reindex_on_text_only")
def m0009_fts_reindex_on_text_only(db: Database) -> None:
    """Re-index a document in FTS only when its title or text change, not when its story or meeting is set."""
    db.execute("drop trigger if exists documents_au")
    db.execute(
        """create trigger documents_au after update of title, text on documents begin
  insert into documents_fts (documents_fts, rowid, title, text) values ('delete', old.rowid, old.title, old.text);
  insert into documents_fts (rowid, title, text) values (new.rowid, new.title, new.text);
end"""
    )


@migrations(name="0010_site_template")
def m0010_site_template(db: Database) -> None:
    """Template learning from listing pages (each URL counted once) and the template lines already cleaned away."""
    # a listing page's lines are counted the first time its URL is read: pages re-read every crawl would swamp them
    db.table("site_listings").create({"url": str, "host": str, "counted_at": str}, pk="url")
    # the template lines whose removal the archived texts of a host already reflect: a line learned later that is
    # not here yet sends the host's archived pages that start or end with it to be cleaned again from their captures
    db.table("site_template").create({"host": str, "line_key": str}, pk=("host", "line_key"))
    db.table("runs").add_column("recleaned", int, not_null_default=0)  # archived pages cleaned again by a run
    # how many of a line's pages are articles: a listing shows parts of articles, so listings alone prove nothing
    db.table("site_lines").add_column("article_pages", int)
    db.execute("update site_lines set article_pages = pages")  # only article pages were counted until now


_TRIGRAM_TRIGGERS = """
create trigger documents_ai after insert on documents begin
  insert into documents_fts (rowid, title, text) values (new.rowid, new.title, new.text);
end;
create trigger documents_ad after delete on documents begin
  insert into documents_fts (documents_fts, rowid, title, text) values ('delete', old.rowid, old.title, old.text);
end;
create trigger documents_au after update of title, text on documents begin
  insert into documents_fts (documents_fts, rowid, title, text) values ('delete', old.rowid, old.title, old.text);
  insert into documents_fts (rowid, title, text) values (new.rowid, new.title, new.text);
end;
"""
_F = search_words.SQL_FUNCTION
_WORDS_TRIGGERS = f"""
create trigger documents_words_ai after insert on documents begin
  insert into documents_words (rowid, title, text) values (new.rowid, {_F}(new.title), {_F}(new.text));
end;
create trigger documents_words_ad after delete on documents begin
  insert into documents_words (documents_words, rowid, title, text)
    values ('delete', old.rowid, {_F}(old.title), {_F}(old.text));
end;
create trigger documents_words_au after update of title, text on documents begin
  insert into documents_words (documents_words, rowid, title, text)
    values ('delete', old.rowid, {_F}(old.title), {_F}(old.text));
  insert into documents_words (rowid, title, text) values (new.rowid, {_F}(new.title), {_F}(new.text));
end;
"""


@migrations(name="0011_word_index")
def m0011_word_index(db: Database) -> None:
    """A word index that finds short terms ("普京", "Xi") and is the one sqlite-utils and Datasette search.

    Both tools search the first FTS table whose SQL names content="documents" (or [documents]). The word index says
    so; the trigram index is re-created saying content='documents', which SQLite reads the same but they skip.
    The word index holds search_words.index_words() of each text, kept by triggers calling it as an SQL function.
    """
    search_words.register(db.conn)
    for trigger in ("documents_ai", "documents_ad", "documents_au"):
        db.execute(f"drop trigger if exists {trigger}")
    db.execute("drop table if exists documents_fts")
    db.execute(
        f"""create virtual table documents_words using fts5(title, text, content="documents",
            tokenize='{search_words.TOKENIZE}')"""
    )
    db.execute("create virtual table documents_fts using fts5(title, text, content='documents', tokenize='trigram')")
    for statement in (_TRIGRAM_TRIGGERS + _WORDS_TRIGGERS).split("end;"):
        if statement.strip():
            db.execute(statement + "end;")
    db.execute("insert into documents_fts (documents_fts) values ('rebuild')")
    db.execute(
        f"""insert into documents_words (rowid, title, text)
            select rowid, {search_words.SQL_FUNCTION}(title), {search_words.SQL_FUNCTION}(text) from documents"""
    )


@migrations(name="0012_archive_identity")
def m0012_archive_identity(db: Database) -> None:
    """The archive's identity: a UUID and creation time, made once, from which feed and entry ids are built."""
    db.table("archive_identity").create({"uuid": str, "created": str}, not_null={"uuid", "created"})
    db.execute("insert into archive_identity (uuid, created) values (?, ?)", [str(uuid.uuid4()), utcnow()])


@migrations(name="0013_capture_payload_digest")
def m0013_capture_payload_digest(db: Database) -> None:
    """Each capture's WARC payload digest: revisits point to the response record whose stored payload is identical.

    Earlier captures keep none (their records carry another digest algorithm), so no new revisit points to them.
    """
    db.table("captures").add_column("payload_digest", str)
    db.table("captures").create_index(["payload_digest"])


@migrations(name="0015_document_kinds_and_announcements")
def m0015_document_kinds_and_announcements(db: Database) -> None:
    """Each document's own kind within its meeting (talks, press statements, a visit …) and announced meetings."""
    db.table("documents").add_column("meeting_kind", str)
    # a document announcing a meeting to come joins no meeting: its announced date and parties link it to one
    db.table("announcements").create({"document_id": int, "date": str, "participants": str}, pk="document_id")
    db.table("announcements").create_index(["date"])


@migrations(name="0016_provenance")
def m0016_provenance(db: Database) -> None:
    """Where each revision came from (live, or a WARC file or web archive and the record or memento URL) and when
    it was captured; events found in retrospect (never notified); the records already imported, to skip them."""
    db.table("revisions").add_column("origin", str, not_null_default="live")
    db.table("revisions").add_column("origin_url", str)
    db.table("revisions").add_column("captured_at", str)
    db.execute("update revisions set captured_at = fetched_at")
    db.table("events").add_column("retrospective", int, not_null_default=0)
    db.table("imported").create({"record": str, "url": str, "at": str}, pk="record")


@migrations(name="0017_word_index_without_python_triggers")
def m0017_word_index_without_python_triggers(db: Database) -> None:
    """The word index kept without a Python function in the archive's triggers, so any tool may write documents.

    Triggers queue each written document; readouts connections index the queue (search_words.attach_indexer).
    """
    for trigger in ("documents_words_ai", "documents_words_ad", "documents_words_au"):
        db.execute(f"drop trigger if exists {trigger}")
    db.execute(
        f"""create table {search_words.PENDING_TABLE} (rowid integer primary key, indexed integer not null,
            title text, text text)"""
    )
    for statement in search_words.PERSISTENT_TRIGGERS.split("end;"):
        if statement.strip():
            db.execute(statement + "end;")


def restore_search_triggers(db: Database) -> bool:
    """Re-create the search indexes' triggers and rebuild both indexes when a tool dropped them; True if it did.

    `sqlite-utils transform` rebuilds `documents` without its triggers: the indexes would silently stop following.
    """
    names = {f"documents_words_{e}" for e in ("ai", "ad", "au")}
    present = {r[0] for r in db.execute("select name from sqlite_master where type = 'trigger'")}
    if not search_words.has_queue(db.conn) or names <= present:
        return False
    for statement in search_words.PERSISTENT_TRIGGERS.split("end;"):
        name = statement.split("trigger", 1)[-1].split()[0] if statement.strip() else ""
        if name and name not in present:
            db.execute(statement + "end;")
    db.execute("insert into documents_fts (documents_fts) values ('rebuild')")
    db.execute("insert into documents_words (documents_words) values ('delete-all')")
    db.execute(
        f"""insert into documents_words (rowid, title, text)
            select rowid, {search_words.SQL_FUNCTION}(title), {search_words.SQL_FUNCTION}(text) from documents"""
    )
    db.execute(f"delete from {search_words.PENDING_TABLE}")
    return True


@migrations(name="0020_crawl_frontier")
def m0020_crawl_frontier(db: Database) -> None:
    """Where a crawl cut by `max_pages` stopped (listing pages and articles not yet fetched), and what it left.

    The next crawl of the source starts there as well as at its start URLs; `runs.bounded` says which sources a
    run's bound cut: {source: {"max_pages", "resume_at", "rechecks_left"}} as JSON.
    """
    db.table("frontier").create({"source": str, "url": str, "kind": str}, pk=("source", "url"))
    db.table("runs").add_column("bounded", str, not_null_default="{}")


@migrations(name="0023_cdx_cursors")
def m0023_cdx_cursors(db: Database) -> None:
    """Where a paged CDX query of `readouts backfill` stopped: the next page to read (a killed backfill resumes there).

    Keyed by the query's URL without its page; a query read to its end is dropped, so the next backfill asks again.
    """
    db.table("cdx_cursors").create({"query": str, "next_page": int, "pages": int, "at": str}, pk="query")


@migrations(name="0024_cdx_resume_keys")
def m0024_cdx_resume_keys(db: Database) -> None:
    """The resume key of a CDX query read by `showResumeKey` (the Wayback CDX server's other paging mode).

    Such a query has no page count (`pages` 0): it goes on from the key its last answer ended with, until an answer
    ends with none.
    """
    db.table("cdx_cursors").add_column("resume_key", str)


@migrations(name="0027_trigram_index_in_batches")
def m0027_trigram_index_in_batches(db: Database) -> None:
    """The trigram index fed from the word index's queue too, so a crawl writes one segment per batch, not per page.

    Its triggers wrote it inside every page's transaction (a segment and its merges each commit). The queue's rows
    hold the values the word index holds, while the trigram index holds every current text: catch the word index
    up first, so both hold the same when the queue starts serving both.
    """
    search_words.register(db.conn)
    search_words.catch_up(db.conn, trigram=False)
    for trigger in ("documents_ai", "documents_ad", "documents_au"):
        db.execute(f"drop trigger if exists {trigger}")
