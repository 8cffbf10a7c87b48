"""What the user is told when a file they named cannot be used: one line naming the file and what to do."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import click

SQLITE_HEADER = b"SQLite format 3\x00"
EXIT_FAILED, EXIT_INPUT = 1, 2  # documented in README's "Exit codes"


class InputError(click.ClickException):
    """A file the user named (archive, output) that cannot be used: exit 2."""

    exit_code = EXIT_INPUT


QUIET = click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and the output asked for).")


def say(message: str, quiet: bool) -> None:
    """Tell the user how it went, on stderr, unless quiet."""
    if not quiet:
        click.echo(message, err=True)


def archive_problem(path: Path, write: bool) -> str | None:
    """Say why the archive at `path` cannot be read (or, with `write`, crawled into); None when it can."""
    if path.is_dir():
        return f"{path} is a folder, not an archive: give --db the archive's file"
    if not path.exists():
        if not write:
            return f"no archive at {path}: run `readouts crawl` first, or give --db an archive"
        return _folder_problem(path, "cannot create the archive")
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot read the archive {path}: {exc.strerror}"
    if header and header != SQLITE_HEADER:
        return f"{path} is not a readouts archive (not an SQLite file): check --db"
    if write and not os.access(path, os.W_OK):
        return f"the archive {path} is read-only: a crawl writes to it; make it writable or crawl into a copy"
    if write and not os.access(path.parent, os.W_OK):
        return (
            f"the folder of {path} is read-only: a crawl writes beside the archive (journal, captures, locks); "
            "make it writable or crawl into a copy elsewhere"
        )
    return None


def output_problem(path: Path, folder: bool = False) -> str | None:
    """Say why an output file (or, with `folder`, an output folder) cannot be written at `path`; None when it can."""
    if path.exists():
        if folder and not path.is_dir():
            return f"{path} is a file, not a folder: give a folder (it is created when missing)"
        if not folder and path.is_dir():
            return f"{path} is a folder: give a file name to write"
        if not os.access(path, os.W_OK):
            return f"cannot write {path}: it is read-only"
        return None
    if folder:  # created with its parents: the nearest existing one must be a writable folder
        while not path.parent.exists() and path.parent != path:
            path = path.parent
    return _folder_problem(path, "cannot write")


def writable_output(path: str | Path | None, folder: bool = False) -> None:
    """Exit with a clear message when an output file (or folder) cannot be written, before anything is made."""
    problem = output_problem(Path(path), folder) if path is not None else None
    if problem:
        raise InputError(problem)


def _folder_problem(path: Path, doing: str) -> str | None:
    """Say why a new file cannot be created at `path` (its folder missing, not a folder, or read-only)."""
    parent = path.parent
    if not parent.exists():
        return f"{doing} {path}: the folder {parent} does not exist"
    if not parent.is_dir():
        return f"{doing} {path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK):
        return f"{doing} {path}: the folder {parent} is read-only"
    return None


def os_error_message(exc: OSError, default_target: str) -> str:
    """One line for an OSError met while writing: which file, and what to do."""
    target = exc.filename or default_target
    if exc.errno == errno.ENOSPC:
        return f"no space left writing {target}: free some space or write elsewhere"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {target}: permission denied; choose a writable place"
    return f"{target}: {exc.strerror or exc}"


def database_error_message(exc: sqlite3.DatabaseError, db: str) -> str:
    """One line for an SQLite error met while using the archive."""
    if "readonly" in str(exc):
        return f"the archive {db} is read-only: {exc}; make it writable or work on a copy"
    return f"cannot use the archive {db}: {exc} (is --db a readouts archive? `readouts check` tells)"


@contextmanager
def stdout_to(path: str | None) -> Iterator[None]:
    """Send stdout to the file at `path` (when given), written beside it and renamed at the end: never half a file."""
    if path is None:
        yield
        return
    target = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, redirect_stdout(out):
            yield
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
