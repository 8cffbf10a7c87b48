"""Preloaded by a test's fork server: it waits at a gate (a file the test creates) before forking any worker."""

from __future__ import annotations

import os
import time
from pathlib import Path

GATE_ENV = "READOUTS_TEST_PRELOAD_GATE"
PASSED = ".passed"  # beside the gate: written when the server went through, saying whether the gate was open


def wait_at_gate(gate: Path, bound_seconds: float = 30) -> None:
    """Wait until the gate exists (at most bound_seconds: a test that never opens it fails, it does not hang)."""
    deadline = time.monotonic() + bound_seconds
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.with_name(gate.name + PASSED).write_text("open" if gate.exists() else "timed out")


if os.environ.get(GATE_ENV):
    wait_at_gate(Path(os.environ[GATE_ENV]))
