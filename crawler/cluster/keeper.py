"""The daemon's writer in cluster mode: a `readouts writer` subprocess kept running, started again when it dies."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("readouts.scheduler")
QUICK_EXIT_S = 10.0  # a writer that ended sooner than this is started again only after a pause…
MAX_PAUSE_S = 30.0  # …doubling from 1 s up to this, so a writer that cannot start does not spin


def writer_command(db: str, sources: str | None, redis_url: str) -> list[str]:
    """Return the command line of the daemon's writer (the same `readouts writer` a user runs)."""
    where = ["--sources", sources] if sources else []
    return [sys.executable, "-m", "crawler", "--db", db, *where, "writer", "--redis", redis_url]


def pause_after(ran_s: float, quick_exits: int) -> float:
    """Return how long to wait before starting the writer again, after it ran ran_s seconds and quick_exits in a row."""
    if ran_s >= QUICK_EXIT_S:
        return 0.0
    return float(min(2 ** max(quick_exits - 1, 0), MAX_PAUSE_S))


class WriterKeeper:
    """Keep one writer subprocess running until stopped; log each start and each exit."""

    def __init__(self, command: list[str], log_path: str, log: Callable[[dict[str, object]], None]) -> None:
        """Keep the command, where its output goes and how events are logged (one JSON line each)."""
        self.command, self.log_path, self.log = command, log_path, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._keep, name="writer-keeper", daemon=True)

    def start(self) -> None:
        """Start the writer and the thread that watches it."""
        self.thread.start()

    def _keep(self) -> None:
        """Start the writer; whenever it exits, start it again (after a pause when it exits quickly)."""
        quick_exits = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            with open(self.log_path, "ab") as out:
                self.proc = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT)
            self.log({"event": "writer started", "pid": self.proc.pid})
            code = self.proc.wait()
            if self.stopping.is_set():
                return
            ran = time.monotonic() - started
            quick_exits = quick_exits + 1 if ran < QUICK_EXIT_S else 0
            pause = pause_after(ran, quick_exits)
            self.log({"event": "writer exited", "pid": self.proc.pid, "code": code, "restart_in_s": pause})
            self.stopping.wait(pause)

    def stop(self, grace: float) -> None:
        """Stop the writer (SIGTERM, then SIGKILL after grace seconds) and its watcher."""
        self.stopping.set()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.thread.join(timeout=grace)
