"""The benchmarks' measuring tools: the time a process's main thread spent waiting for a core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from measure import cpu_seconds, run_queue_wait

# a process that keeps one core busy for 0.3 s of CPU, on core 0 only
SPIN = (
    "import os, time\nos.sched_setaffinity(0, {0})\nend = time.process_time() + 0.3\n"
    "while time.process_time() < end: pass"
)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_run_queue_wait_is_the_time_runnable_without_a_core() -> None:
    # three busy processes on one core: each waits about twice as long as it runs
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(3)]
    watched, wait, cpu = spinners[0], 0.0, 0.0
    while watched.poll() is None:
        wait, cpu = max(wait, run_queue_wait(watched.pid)), max(cpu, cpu_seconds(watched.pid))
    for spinner in spinners:
        spinner.wait()
    assert cpu >= 0.1
    assert wait > 1.3 * cpu
    assert run_queue_wait(watched.pid) == 0.0  # gone: nothing to read
