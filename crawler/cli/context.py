"""The global options every command shares, handed to each command as its click object."""

from __future__ import annotations

import os
from pathlib import Path

import click

from crawler.cli.file_errors import InputError, archive_problem
from storage.archive import Archive


class Context:
    """The global options every command shares."""

    def __init__(self, db: str, sources: str) -> None:
        """Keep the archive path and the sources-file path."""
        self.db, self.sources = db, sources

    def require(self) -> None:
        """Exit with a clear message when the archive is missing or not an archive (the checks reader() makes)."""
        with self.reader():
            pass

    def reader(self) -> Archive:
        """Open the archive read-only, or exit with a clear message when it is missing or not an archive."""
        problem = archive_problem(Path(self.db), write=False)
        if problem:  # a missing archive is not bad input (nothing crawled yet): exit 1, as before
            raise (InputError if os.path.lexists(self.db) else click.ClickException)(problem)
        archive = Archive(self.db, readonly=True)
        if not archive.db["pages"].exists():
            archive.close()
            raise InputError(f"{self.db} is an SQLite file but not a readouts archive: check --db")
        return archive

    def writable(self) -> None:
        """Exit with a clear message, before anything is created, when the archive cannot be written."""
        problem = archive_problem(Path(self.db), write=True)
        if problem:
            raise InputError(problem)
