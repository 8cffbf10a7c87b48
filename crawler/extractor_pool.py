"""Extraction in worker processes, under a wall-clock timeout and a memory bound, so one page cannot stall a crawl."""

from __future__ import annotations

import asyncio
import os
import resource
from concurrent.futures import TimeoutError as FutureTimeout

from pebble import ProcessPool

from crawler.extract import Extracted, Failure, extract

EXTRACT_TIMEOUT_S = 30.0
WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_MAX_TASKS = 500


def _limit_memory(limit_bytes: int) -> None:
    """Bound a worker's address space so a pathological page fails instead of exhausting memory."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit_bytes if hard == resource.RLIM_INFINITY else min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class ExtractorPool:
    """A pool of extraction workers; `await pool.extract(...)` gives an Extracted or a Failure, never raises."""

    def __init__(
        self, workers: int | None = None, timeout: float = EXTRACT_TIMEOUT_S, memory_bytes: int = WORKER_MEMORY_BYTES
    ) -> None:
        """Start the worker processes, each limited to memory_bytes of address space."""
        self.timeout = timeout
        self.pool = ProcessPool(
            max_workers=workers or min(2, os.cpu_count() or 1),
            max_tasks=WORKER_MAX_TASKS,
            initializer=_limit_memory,
            initargs=(memory_bytes,),
        )

    async def extract(
        self, body: bytes, url: str, content_type: str | None, language: str | None, timeout: float | None = None
    ) -> Extracted | Failure:
        """Extract one page in a worker; a timeout, crash or memory error becomes a Failure."""
        seconds = timeout or self.timeout
        future = self.pool.schedule(extract, args=(body, url, content_type, language), timeout=seconds)
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout:
            return Failure(f"extraction timed out after {seconds:g}s")
        except MemoryError:
            return Failure("extraction ran out of memory")
        except Exception as exc:  # a crashed worker or a bug in extraction must not end the crawl
            return Failure(f"extraction failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop the workers."""
        self.pool.stop()
        self.pool.join(timeout=5)
