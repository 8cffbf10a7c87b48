"""Measuring tools for the benchmarks: wall time and peak memory of a process tree, CPU time of a process."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """Return the fields of /proc/PID/stat after the command name, or None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time a process has used so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def descendants(pid: int) -> list[int]:
    """Return the PIDs of a process and all its descendants (one scan of /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def run_queue_wait(pid: int) -> float:
    """Return the seconds a process's main thread has spent runnable but waiting for a core (0 when it is gone).

    On a loaded machine a single-threaded process waits here while the scheduler serves every other thread: a
    wall time made of this wait measures the load, not the program.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def rss(pid: int) -> int:
    """Return a process's resident set size in bytes (0 when it is gone)."""
    fields = _stat(pid)
    return int(fields[21]) * PAGE if fields else 0


def pss(pid: int) -> int:
    """Return a process's proportional set size in bytes: pages shared with other processes count by their share.

    Summed over a process tree, PSS is the memory the tree really holds; summed RSS counts every page a forked
    worker still shares with its parent once per process.
    """
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Run:
    """A finished command: wall time, peak RSS of its main process and of its whole tree, peak PSS of the tree."""

    seconds: float
    peak_main_mb: float
    peak_tree_mb: float
    code: int
    out: str
    err: str
    peak_pss_tree_mb: float = 0.0
    cpu_seconds: float = 0.0  # user + system time of the command and every descendant it waited for
    main_wait_seconds: float = 0.0  # its main thread's time runnable but waiting for a core (sampled, 100 ms)


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 3600) -> Run:
    """Run a command to its end, sampling the memory of its process tree every 100 ms."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0, 0, 0]
    waited = [0.0]
    done = threading.Event()

    def sample() -> None:
        tree, ticks = [proc.pid], 0
        while not done.is_set():
            if ticks % 10 == 0:  # the tree changes rarely (worker pools): rescan /proc once a second
                tree = descendants(proc.pid)
            sizes = [rss(pid) for pid in tree]
            peak[0], peak[1] = max(peak[0], sizes[0]), max(peak[1], sum(sizes))
            peak[2] = max(peak[2], sum(pss(pid) for pid in tree))
            waited[0] = max(waited[0], run_queue_wait(proc.pid))
            ticks += 1
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(seconds, peak[0] / 2**20, peak[1] / 2**20, proc.returncode, out, err, peak[2] / 2**20, cpu, waited[0])


def percentile(values: list[float], share: float) -> float:
    """Return the value below which `share` of the sorted values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
