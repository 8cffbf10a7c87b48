"""Extraction and the cleaning after it in worker processes, under a wall-clock timeout and a memory bound."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from pebble import ProcessPool

from crawler.config.intervals import DEFAULT_EXTRACT_TIMEOUT
from crawler.model import ArticleText, Extracted, Failure

WORKER_MEMORY_BYTES = 2 * 1024**3
WORKER_MAX_TASKS = 500
PR_SET_PDEATHSIG = 1  # linux/prctl.h
EXTRACTION_MODULES = (
    "crawler.extraction.fork_server",
    "crawler.extraction.article",
    "crawler.extraction.page_lines",
    "crawler.extraction.extract",
)


def _address_space() -> int:
    """This process's virtual memory size in bytes, or 0 where /proc does not tell it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_memory(budget_bytes: int) -> None:
    """Bound a worker's address space to what it inherited plus a budget, so a pathological page fails alone."""
    # a forked worker inherits the crawl's mappings (thread stacks, malloc arenas), which grow as the crawl runs:
    # a bound that ignored them would leave a worker forked late with no room at all
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + budget_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def die_with(parent: int) -> None:
    """Have Linux kill this process as soon as its parent dies, even by SIGKILL mid-extraction."""
    # without it a worker busy with a long page only notices its orphaned state when the page is done; a worker's
    # parent is the fork server, which dies with the crawl (crawler/extraction/fork_server.py)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker still ends after its current page
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _start_worker(limit_bytes: int) -> None:
    """Prepare a worker process: bounded memory, and no life beyond its fork server (and so its crawl)."""
    _limit_memory(limit_bytes)
    die_with(os.getppid())


def _worker_context() -> Any:
    """The multiprocessing context workers start from: a fork server that has loaded extraction's libraries."""
    # workers forked from the crawl itself inherited its heap (Scrapy's queues, the archive's caches), which grows as
    # the crawl runs: every worker the pool recycled carried more of it, and each page the crawl touched after the
    # fork was copied into the worker's own memory. The fork server is a small process that loads trafilatura and
    # NumPy once (not the crawl: a re-check answered by 304s starts no server and loads nothing); every worker
    # forked from it shares them, and no page's timeout pays for them
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(EXTRACTION_MODULES))
    return context


def _extract(body: bytes, url: str, content_type: str | None, language: str | None) -> Extracted | Failure:
    """Extract one page (in a worker)."""
    from crawler.extraction.extract import extract

    return extract(body, url, content_type, language)


@dataclass(frozen=True)
class ExtractedCut:
    """A page extracted and, in the same worker, cut of its site's template as the crawl knew it then."""

    extracted: Extracted | Failure
    keys: frozenset[str]  # the keys of its lines (for template learning); empty when extraction failed
    article: ArticleText | None  # the cut (None: nothing left after it)
    used: frozenset[str] | None  # the template keys among its lines that the cut removed by; None: no cut made


def _extract_cut(
    body: bytes, url: str, content_type: str | None, language: str | None, template: frozenset[str]
) -> ExtractedCut:
    """Extract one page and cut it of `template` (in a worker): one task, not two, for a page of a known site."""
    from crawler.extraction import boilerplate
    from crawler.extraction.article import article_text
    from crawler.extraction.extract import extract

    extracted = extract(body, url, content_type, language)
    if isinstance(extracted, Failure):
        return ExtractedCut(extracted, frozenset(), None, None)
    keys = frozenset(boilerplate.page_keys(extracted.lines))
    try:
        article = article_text(extracted, template)
    except Exception:  # the cut is made again when the page is stored, which reports how it fails
        return ExtractedCut(extracted, keys, None, None)
    return ExtractedCut(extracted, keys, article, template & keys)


def _article(extracted: Extracted, template: frozenset[str]) -> ArticleText | None:
    """Clean, hash and fingerprint one extraction (in a worker)."""
    from crawler.extraction.article import article_text

    return article_text(extracted, template)


def _page_lines(body: bytes, content_type: str | None) -> tuple[str, ...]:
    """Return every text line of a page (in a worker)."""
    from crawler.extraction.page_lines import page_lines

    return page_lines(body, content_type)


def _spawn_fork_server() -> None:
    """Start the fork server unless it runs; it loads extraction's modules while the caller goes on."""
    # the server's death signal (fork_server.py) follows the thread that spawns it: call this from the crawl's own
    from multiprocessing import forkserver

    forkserver.ensure_running()


def _stop_fork_server() -> None:
    """End the fork server and reap it, so that the crawl's resource usage (peak memory) counts its workers'."""
    # left running, the server would end only after the crawl, reaped by someone else: ru_maxrss of whoever waited for
    # the crawl (tests/peak.py) would no longer include the workers; a worker still alive dies with the server
    from multiprocessing import forkserver

    server: Any = forkserver._forkserver  # type: ignore[attr-defined]
    pid = server._forkserver_pid
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    server._stop()


class ExtractorPool:
    """A pool of extraction workers; `await pool.extract(...)` gives an Extracted or a Failure, never raises."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = DEFAULT_EXTRACT_TIMEOUT.seconds,
        memory_bytes: int = WORKER_MEMORY_BYTES,
    ) -> None:
        """Prepare the workers (they start with the first task), each allowed memory_bytes beyond what it inherits."""
        self.timeout = timeout
        self.workers = workers or min(2, os.cpu_count() or 1)
        self.memory_bytes = memory_bytes
        self.pool = self._start()
        # pebble forks a pool's first workers in the thread that schedules its first task and waits there until the
        # fork server has loaded extraction's modules: on the crawl's thread that stopped every fetch for as long
        self._starter = ThreadPoolExecutor(1, "extraction-start")
        self._started: Future[Any] | None = None

    def _start(self) -> ProcessPool:
        """Start a pool of fresh workers."""
        return ProcessPool(
            max_workers=self.workers,
            max_tasks=WORKER_MAX_TASKS,
            initializer=_start_worker,
            initargs=(self.memory_bytes,),
            context=_worker_context(),
        )

    async def _ready(self) -> None:
        """Start the workers on a thread of their own, the first time; wait until they are (this thread goes on)."""
        if self._started is None:
            # the server is spawned here, on the caller's (the crawl's) thread: its death signal follows the thread
            # that spawned it, and the starter's thread ends at close(), before pebble has stopped and reaped workers
            _spawn_fork_server()
            self._started = self._starter.submit(self.pool.schedule, os.getpid)  # any task: pebble starts with it
        await asyncio.wrap_future(self._started)

    def _recycle(self) -> None:
        """Send new tasks to fresh workers; the old ones finish the pages they hold, then exit."""
        # a worker that survived a MemoryError keeps its heap near the bound: its next page (or OpenBLAS's first
        # buffer) would fail in turn, so it must not be given one
        old, self.pool = self.pool, self._start()
        old.close()

    async def extract(
        self, body: bytes, url: str, content_type: str | None, language: str | None, timeout: float | None = None
    ) -> Extracted | Failure:
        """Extract one page in a worker; a timeout, crash or memory error becomes a Failure."""
        args = (body, url, content_type, language)
        return await self._run(_extract, args, timeout, "extraction")  # type: ignore[no-any-return]

    async def extract_cut(
        self,
        body: bytes,
        url: str,
        content_type: str | None,
        language: str | None,
        template: frozenset[str],
        timeout: float | None = None,
    ) -> ExtractedCut:
        """Extract one page and cut it of its site's template in one worker task; a failure comes back as a Failure."""
        args = (body, url, content_type, language, template)
        result = await self._run(_extract_cut, args, timeout, "extraction")
        return ExtractedCut(result, frozenset(), None, None) if isinstance(result, Failure) else result

    async def article(
        self, extracted: Extracted, template: frozenset[str], timeout: float | None = None
    ) -> ArticleText | Failure | None:
        """Strip the site's template, hash, fingerprint and recognise the meeting in a worker (None: nothing left)."""
        return await self._run(_article, (extracted, template), timeout, "cleaning")  # type: ignore[no-any-return]

    async def page_lines(self, body: bytes, content_type: str | None, timeout: float | None = None) -> tuple[str, ...]:
        """Return every text line of a page (a listing page, to learn its site's template from); () on failure."""
        lines = await self._run(_page_lines, (body, content_type), timeout, "reading lines")
        return () if isinstance(lines, Failure) else tuple(lines)

    async def _run(self, task: Callable[..., Any], args: tuple[Any, ...], timeout: float | None, what: str) -> Any:
        """Run one task in a worker; a timeout, crash or memory error becomes a Failure naming `what`."""
        seconds = timeout or self.timeout
        try:
            await self._ready()
            return await asyncio.wrap_future(self.pool.schedule(task, args=args, timeout=seconds))
        except FutureTimeout:
            return Failure(f"{what} timed out after {seconds:g}s")
        except MemoryError:
            self._recycle()
            return Failure(f"{what} ran out of memory")
        except Exception as exc:  # a crashed worker or a bug in extraction must not end the crawl
            return Failure(f"{what} failed: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop the workers and their fork server."""
        self._starter.shutdown()  # every task waited for the start: nothing is under way here
        self.pool.stop()
        self.pool.join(timeout=5)
        _stop_fork_server()
