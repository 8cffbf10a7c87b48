"""The archive's schema as numbered migrations (sqlite-utils' Migrations)."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

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
