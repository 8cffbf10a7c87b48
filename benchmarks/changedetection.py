"""The peer monitor: changedetection.io in its own venv, run as its own server on loopback, driven by its REST API.

changedetection.io pins dependencies that conflict with readouts', so it is installed apart: in the venv given by
--cdio-venv, or in a cache folder created on first use (`pip install changedetection.io==VERSION`).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import _stat, descendants

VERSION = "0.60.10"
WORKERS = 8  # its fetch workers: the issue's race used 8, as readouts' sources use concurrency 4 on each of 3 sites
CACHE_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "readouts-bench" / f"cdio-{VERSION}"
READY_LINE = "Running on http://"
IMPORT_CHUNK = 19
POLL = 0.5  # seconds between API polls while a round runs (the server gives no event to wait on)


def ensure_venv(venv: Path | None) -> Path:
    """Return the changedetection.io executable, installing the package into its own venv when it is missing."""
    venv = venv or CACHE_VENV
    exe = venv / "bin" / "changedetection.io"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"changedetection.io=={VERSION}"], check=True)
    return exe


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live descendants, with the children it has reaped."""
    total = 0.0
    for i, member in enumerate(descendants(pid)):
        fields = _stat(member)
        if fields:
            ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if i == 0 else 0)
            total += ticks / os.sysconf("SC_CLK_TCK")
    return total


@dataclass(frozen=True)
class Round:
    """One round of checks of every watch: wall time, the server's CPU, and the watches it reported changed."""

    seconds: float
    cpu_seconds: float
    checked: int
    changed: list[str]


class ChangeDetection:
    """A changedetection.io server on loopback with a fresh datastore (a context manager that stops it)."""

    def __init__(self, exe: Path, datastore: Path, port: int) -> None:
        """Start the server and wait for its ready line; read the API key it wrote to its datastore."""
        datastore.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "FETCH_WORKERS": str(WORKERS), "ALLOW_IANA_RESTRICTED_ADDRESSES": "true"}
        self.log = (datastore / "server.log").open("w")
        self.proc = subprocess.Popen(
            [str(exe), "-d", str(datastore), "-h", "127.0.0.1", "-p", str(port), "-C"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.rounds = 0
        self.base = f"http://127.0.0.1:{port}/api/v1"
        log_path = datastore / "server.log"
        while READY_LINE not in log_path.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise SystemExit(f"changedetection.io exited: {log_path.read_text()[-2000:]}")
            time.sleep(POLL)
        settings = json.loads((datastore / "changedetection.json").read_text())["settings"]
        self.key = settings["application"]["api_access_token"]
        for uuid in self.watches():  # a fresh install adds example watches of internet sites
            self.call("DELETE", f"/watch/{uuid}")

    def call(self, method: str, path: str, body: bytes | None = None) -> Any:
        """Call the REST API and return its decoded JSON answer."""
        request = urllib.request.Request(self.base + path, data=body, method=method, headers={"x-api-key": self.key})
        if body is not None:
            request.add_header("Content-Type", "text/plain")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"changedetection.io {method} {path}: {exc.code} {exc.read().decode()[:500]}") from exc
        return json.loads(text) if text.strip().startswith(("{", "[")) else text

    def watches(self) -> dict[str, dict[str, Any]]:
        """Every watch with its last check and last change (epoch seconds)."""
        for _ in range(20):  # while a background import adds watches, listing them can fail with a 500
            try:
                return dict(self.call("GET", "/watch"))
            except SystemExit as exc:
                if ": 500 " not in str(exc):
                    raise
                time.sleep(POLL)
        return dict(self.call("GET", "/watch"))

    def cpu(self) -> float:
        """CPU seconds the server's process tree has used so far."""
        return tree_cpu(self.proc.pid)

    def _round(self, start: Any, expected: int) -> Round:
        """Start a round, wait until `expected` watches were checked after it began and the queue is empty."""
        while int(time.time()) <= max((w["last_checked"] for w in self.watches().values()), default=0):
            time.sleep(POLL)  # a second boundary between rounds, as last_checked counts whole seconds
        cpu, began = self.cpu(), time.time()
        wall = time.perf_counter()
        start()
        since = math.floor(began)
        self.rounds += 1
        while True:
            watches = self.watches()
            done = [w for w in watches.values() if w["last_checked"] >= since]
            if len(done) >= expected and self.call("GET", "/systeminfo")["queue_size"] == 0 and self._finished(watches):
                break
            time.sleep(POLL)
        seconds = time.perf_counter() - wall
        # the round's time is taken above; a check that started early and is still saving its change (the one that
        # found the edit does the most work) is not among the "recent" ones _finished looked at: wait for every check
        # of the round to end before reading the changes (a loaded run once read them too early and missed the edit)
        cpu_used = self.cpu() - cpu
        pending = [uuid for uuid, w in watches.items() if w["last_checked"] >= since]
        while pending:
            pending = [uuid for uuid in pending if self.call("GET", f"/watch/{uuid}")["check_count"] < self.rounds]
            if pending:
                time.sleep(POLL)
        watches = self.watches()
        changed = [w["url"] for w in watches.values() if w["last_changed"] and w["last_changed"] >= since]
        return Round(seconds, cpu_used, len(done), changed)

    def _finished(self, watches: dict[str, dict[str, Any]]) -> bool:
        """True when the last checks started have ended (last_checked is set when a check starts, check_count when it
        ends; with the queue empty only the most recently started can still run)."""
        latest = max(w["last_checked"] for w in watches.values())
        recent = [uuid for uuid, w in watches.items() if w["last_checked"] >= latest - 1]
        return all(self.call("GET", f"/watch/{uuid}")["check_count"] >= self.rounds for uuid in recent)

    def first_check(self, urls: list[str]) -> Round:
        """Add the watches (the import API) and wait for their first check."""

        def add() -> None:
            # under 20 URLs an import is synchronous; a larger one runs in the background, and listing the watches
            # meanwhile answers 500 (0.60.10)
            for start in range(0, len(urls), IMPORT_CHUNK):
                self.call("POST", "/import", "\n".join(urls[start : start + IMPORT_CHUNK]).encode())

        return self._round(add, len(urls))

    def recheck(self) -> Round:
        """Re-check every watch (recheck_all) and wait for the round to end."""
        return self._round(lambda: self.call("GET", "/watch?recheck_all=1"), len(self.watches()))

    def __enter__(self) -> ChangeDetection:
        """Use the server in a `with` block, which stops it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server (it takes a few seconds to shut its workers down)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
