"""Plain SQL for the rows written once per page: sqlite-utils' insert and update inspect the table on every call."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database


def insert_row(db: Database, table: str, row: dict[str, Any]) -> int:
    """Insert one row into a table of the archive's own schema and return its rowid."""
    columns = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f'insert into "{table}" ({columns}) values ({marks})', list(row.values()))
    return int(cursor.lastrowid or 0)


def update_row(db: Database, table: str, rowid: int, fields: dict[str, Any]) -> None:
    """Set fields of the row with this id in a table of the archive's own schema."""
    assignments = ", ".join(f'"{name}" = ?' for name in fields)
    db.execute(f'update "{table}" set {assignments} where id = ?', [*fields.values(), rowid])
