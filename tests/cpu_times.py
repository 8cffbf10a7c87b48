"""`--cpu-durations=N`: the N tests that used the most CPU (the test's process and the subprocesses it waited for).

Wall time on a shared machine says how busy the machine was; CPU time says what a test costs. A module-scoped fixture's
CPU counts against the test that first asked for it; a server's against the test after which it was stopped.
"""

from __future__ import annotations

import resource
from collections.abc import Generator
from typing import Any

import pytest


def cpu_seconds() -> float:
    """User and system CPU of this process and of every child process it has waited for, in seconds."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --cpu-durations."""
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N", help="show the N tests using most CPU")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    """Note the CPU used so far before the test's setup."""
    item.stash[_started] = cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Attach the CPU of setup, call and teardown to the teardown report (xdist sends it to the controller)."""
    outcome = yield
    if call.when == "teardown" and _started in item.stash:
        outcome.get_result().user_properties.append(("cpu_seconds", cpu_seconds() - item.stash[_started]))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the tests that used the most CPU, and the total of every test."""
    count = config.getoption("cpu_durations")
    if count is None:
        return
    used = [
        (dict(report.user_properties)["cpu_seconds"], report.nodeid)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown" and "cpu_seconds" in dict(getattr(report, "user_properties", []))
    ]
    terminalreporter.write_sep("=", f"CPU: {sum(s for s, _ in used):.0f} s in all tests; the {count} costliest")
    for seconds, nodeid in sorted(used, reverse=True)[: count or None]:
        terminalreporter.write_line(f"{seconds:8.2f}s cpu  {nodeid}")


_started = pytest.StashKey[float]()
