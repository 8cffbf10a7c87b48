"""Scrapy's HTTP handler, loaded without the source reads its module's deprecated aliases would make."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def bare_stack(context: int = 1) -> list[inspect.FrameInfo]:
    """Return the caller's stack as inspect.stack() does, without each frame's source lines or source file."""
    frame = sys._getframe(1)
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back  # type: ignore[assignment]
    return frames


@contextmanager
def stack_without_sources() -> Iterator[None]:
    """Make inspect.stack() bare_stack() for the duration: Scrapy's deprecated class aliases read only the frame."""
    full = inspect.stack
    inspect.stack = bare_stack  # type: ignore[assignment]
    try:
        yield
    finally:
        inspect.stack = full


# The handler's modules create three deprecated class aliases, each calling inspect.stack() only to name the module
# that created it; the full stack looks up the source of every frame, and a frozen importlib frame's lookup walks
# all of sys.modules: 70-160 ms of CPU at every crawl's start.
with stack_without_sources():
    import scrapy.core.downloader.handlers.http11  # noqa: F401
