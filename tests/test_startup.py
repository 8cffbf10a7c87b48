"""What every `readouts crawl` pays before and per page: a re-check is a new process, so its start-up counts."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import warnings
from collections.abc import Iterator
from types import SimpleNamespace

from scrapy.settings import Settings
from scrapy.utils.misc import warn_on_generator_with_return_value

from crawler.extraction.pool import ExtractorPool
from crawler.model import Extracted
from spiders.settings import BASE_SETTINGS

PAGE = (
    b"<html><body><article><p>" + b"A readout of the talks held by the two ministers today. " * 20 + b"</p></article>"
)
EXTRACTION_LIBRARIES = ("trafilatura", "justext", "htmldate", "courlan", "py3langid", "rapidfuzz")


def test_the_crawls_process_loads_no_extraction_library() -> None:
    # everything `readouts crawl` imports before its first page; extraction runs in the workers, which load it
    code = (
        "import sys, crawler.cli.main, crawler.run, crawler.cli.progress, crawler.cli.crawl_summary; "
        f"print(sorted(m for m in {EXTRACTION_LIBRARIES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scrapys_http_handler_is_loaded_with_the_crawl_not_by_its_first_engine() -> None:
    # its module body walks the whole call stack: loaded by the first crawler's engine it cost 0.05-0.15 s more CPU
    code = "import sys, crawler.run; print('scrapy.core.downloader.contextfactory' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_extraction_workers_start_with_the_first_page_that_needs_one() -> None:
    async def first_page(pool: ExtractorPool) -> object:
        return await pool.extract(PAGE, "http://127.0.0.1/a.html", "text/html", None)

    others = set(multiprocessing.active_children())  # any that another test left running
    pool = ExtractorPool()
    try:
        assert set(multiprocessing.active_children()) == others  # a re-check answered by 304s forks nothing
        assert isinstance(asyncio.run(first_page(pool)), Extracted)
        assert len(set(multiprocessing.active_children()) - others) == pool.workers
    finally:
        pool.close()


def test_workers_fork_from_a_server_that_loaded_extraction_not_from_the_crawl() -> None:
    # the workers share one load of the libraries (a re-check with one edited page loads them once), and none
    # inherits the crawl's heap, which grows as it runs (issue 23: the crawl's peak memory)
    code = (
        "import asyncio, os, sys; from crawler.extraction.pool import ExtractorPool; pool = ExtractorPool(); "
        f"asyncio.run(pool.extract({PAGE!r}, 'http://127.0.0.1/a.html', 'text/html', None)); "
        "server = asyncio.run(pool._run(os.getppid, (), None, 'parent')); "
        "maps = open(f'/proc/{server}/maps').read(); "
        "print(server != os.getpid(), 'lxml' in maps, 'trafilatura' in sys.modules); pool.close()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "False"]


def _returns_a_value() -> Iterator[int]:
    """A generator with a return value: what Scrapy's check looks for."""
    yield 1
    return 2


def test_scrapy_does_not_parse_a_callbacks_source_for_every_response() -> None:
    # Scrapy's cache of the check is keyed on the bound method, a new object per response: ~1 ms of CPU a page
    spider = SimpleNamespace(settings=Settings(BASE_SETTINGS))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_on_generator_with_return_value(spider, _returns_a_value)  # type: ignore[arg-type]
