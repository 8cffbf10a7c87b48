"""Shared test fixtures: loopback-only network, fixture sites on 127.0.0.x, and the CLI run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "netguard"))

from netguard_impl import install  # noqa: E402

from tests.mockserver import Route, SiteServer  # noqa: E402

install()

DATA = TESTS / "data"
pytest_plugins = ["tests.cpu_times"]  # --cpu-durations=N


class CLIResult:
    """The outcome of one `readouts` subprocess."""

    def __init__(self, proc: subprocess.CompletedProcess[str], peak_rss_mb: float | None = None) -> None:
        self.code, self.out, self.err = proc.returncode, proc.stdout, proc.stderr
        self.peak_rss_mb = peak_rss_mb  # the largest process of the command's tree, when measured

    def json(self) -> Any:
        return json.loads(self.out)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def subprocess_env(**extra: str) -> dict[str, str]:
    """Return an environment for test subprocesses: the network guard on, no user configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("READOUTS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "netguard"), str(TESTS.parent)])
    env.update(extra)
    return env


def cli(db: Path, *args: str, sources: Path | None = None, timeout: float = 180, **env: str) -> CLIResult:
    """Run `readouts [--sources S] ARGS...` on `db` as a subprocess: for crawls, kills, the daemon, signals."""
    chosen = ["--sources", str(sources)] if sources else []
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), *chosen, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=subprocess_env(**env))
    return CLIResult(proc)


def cli_here(db: Path, *args: str, sources: Path | None = None) -> CLIResult:
    """Run `readouts [--sources S] ARGS...` on `db` in this process (CliRunner), where a subprocess adds nothing.

    Each subprocess spends most of a CPU second importing; a read command in this process costs milliseconds.
    """
    from click.testing import CliRunner

    from crawler.cli.main import main

    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("READOUTS_")}
    chosen = ["--sources", str(sources)] if sources else []
    result = CliRunner(env=unset).invoke(main, ["--db", str(db), *chosen, *args])
    err = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        err += "Traceback (in process):\n" + "".join(traceback.format_exception(result.exception))
    return CLIResult(subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, err))


# commands that only read the archive (or copy it): run in the test's process, where a subprocess adds nothing
READ_COMMANDS = frozenset(
    {"backup", "capture", "changes", "check", "compare", "diff", "documents", "export", "feed", "history"}
    | {"meetings", "runs", "search", "sources"}
)
FETCHING_OPTIONS = frozenset({"--try", "--new"})  # `sources --try` crawls and `--new` fetches: real processes


def in_process(args: tuple[str, ...]) -> bool:
    """Whether `readouts ARGS` only reads: its command (the first word not an option or an option's value) is a read."""
    words = iter(args)
    for word in words:
        if word in ("--db", "--sources"):
            next(words, None)
        elif not word.startswith("-"):
            return word in READ_COMMANDS and not FETCHING_OPTIONS & set(args)
    return False


@pytest.fixture
def readouts(tmp_path: Path) -> Callable[..., CLIResult]:
    """Run `readouts ARGS...` with --db in tmp_path (unless given): a subprocess, or this process for a read command."""

    def run(*args: str, db: Path | None = None, timeout: float = 120, peak: bool = False, **env: str) -> CLIResult:
        if in_process(args) and not peak and not env:
            return cli_here(db or tmp_path / "archive.db", *args)
        cmd = [sys.executable, "-m", "crawler", "--db", str(db or tmp_path / "archive.db"), *args]
        report = tmp_path / "peak-rss.txt"
        if peak:  # run under tests/peak.py, which records the peak RSS of the whole process tree
            cmd = [sys.executable, "-m", "tests.peak", str(report), *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=subprocess_env(**env))
        return CLIResult(proc, int(report.read_text()) / 1024 if peak else None)

    return run


@pytest.fixture
def readouts_here(tmp_path: Path) -> Callable[..., CLIResult]:
    """Like `readouts`, in this process (`cli_here`): for read-only commands, where a subprocess adds nothing."""

    def run(*args: str, db: Path | None = None) -> CLIResult:
        return cli_here(db or tmp_path / "archive.db", *args)

    return run


@pytest.fixture
def serve() -> Iterator[Callable[[str, dict[str, Route]], SiteServer]]:
    """Start fixture sites: serve(host, routes) -> a running SiteServer; all stopped after the test."""
    servers: list[SiteServer] = []

    def start(host: str, routes: dict[str, Route]) -> SiteServer:
        server = SiteServer(host, routes).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def write_sources(path: Path, text: str) -> Path:
    """Write a sources file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path
