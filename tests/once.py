"""Build a shared test resource once, even when pytest-xdist workers all ask for it at the same moment."""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: `python3 -m tests.pywb_env` runs before pytest is installed
    import pytest


def built_once(target: Path, build: Callable[[Path], None], stamp: str = "built") -> Path:
    """Return `target`, first building it with `build(target)` unless another process already has (under a lock)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    done = target.parent / f"{target.name}.{stamp}"  # a new stamp (a new pinned version) builds it again
    with open(target.parent / f"{target.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # the others wait here until the first has built it
        if not done.exists():
            build(target)
            done.touch()  # last: a build that failed half-way is redone by the next process, not reused
    return target


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run shares (the run's base temp folder), or this process's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base
