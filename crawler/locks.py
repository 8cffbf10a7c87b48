"""Advisory file locks (fcntl.flock) that name their holder: one daemon per archive, one crawl per source."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from crawler.errors import Busy


class FileLock:
    """An exclusive lock on a file that holds the owner's PID; released when the process ends, even by SIGKILL."""

    def __init__(self, path: str | Path, what: str) -> None:
        """Lock `path` (created if needed); `what` names the lock in messages."""
        self.path, self.what = Path(path), what
        self._file: IO[str] | None = None

    def acquire(self, wait: bool = False, timeout: float | None = None) -> None:
        """Take the lock, or raise Busy (after waiting up to `timeout` seconds when `wait`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held open for the life of the lock)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    pid = holder(self.path)
                    handle.close()
                    raise Busy(self.what, pid) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def __enter__(self) -> FileLock:
        """Take the lock for a `with` block (raise Busy when another process holds it)."""
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        """Give the lock up at the end of the `with` block."""
        self.release()

    def release(self) -> None:
        """Give the lock up."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def holder(path: str | Path) -> int | None:
    """Return the PID written in a lock file, if any."""
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def source_lock(db_path: str, source: str) -> FileLock:
    """Return the lock that one crawl of `source` into the archive at `db_path` holds."""
    return FileLock(Path(f"{db_path}.locks") / f"{source}.lock", f"source {source!r}")


def daemon_lock(db_path: str) -> FileLock:
    """Return the lock the scheduler daemon of an archive holds."""
    return FileLock(f"{db_path}.scheduler.lock", "the scheduler of this archive")
