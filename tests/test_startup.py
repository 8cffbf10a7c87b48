"""What every `readouts crawl` pays before and per page: a re-check is a new process, so its start-up counts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy.settings import Settings
from scrapy.utils.misc import warn_on_generator_with_return_value

from crawler.extraction.pool import ExtractorPool
from crawler.model import Extracted
from spiders.settings import BASE_SETTINGS, without
from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import subprocess_env, write_sources
from tests.mockserver import Reply, Route, SiteServer, conditional

PAGE = (
    b"<html><body><article><p>" + b"A readout of the talks held by the two ministers today. " * 20 + b"</p></article>"
)
EXTRACTION_LIBRARIES = ("trafilatura", "justext", "htmldate", "courlan", "py3langid", "rapidfuzz")
# what sqlite-utils would load (NumPy, pandas) and what Scrapy's components that BASE_SETTINGS turn off import
# (remote control: aiohttp; cookies: tldextract and requests), and rich, which draws progress only on a terminal
NEVER_USED_BY_A_RECHECK = ("numpy", "pandas", "aiohttp", "tldextract", "requests", "rich")


def packages_imported(stderr: str) -> set[str]:
    """The top-level packages a process started with `-X importtime` imported any module of, from its stderr."""
    lines = (line.rsplit("|", 1) for line in stderr.splitlines() if line.startswith("import time:"))
    return {parts[1].strip().split(".")[0] for parts in lines if len(parts) == 2}


def test_a_recheck_answered_by_304s_loads_nothing_it_never_uses(
    tmp_path: Path, serve: Callable[[str, dict[str, Route]], SiteServer]
) -> None:
    # every re-check is a new process: each module it loads for nothing is CPU paid again every time
    site = serve("127.0.0.141", {})
    site.routes.update(
        {
            "/news/": Reply(b'<html><body><a href="/news/1.html">talks</a></body></html>'),
            "/news/1.html": conditional(PAGE),
        }
    )
    sources = write_sources(
        tmp_path / "s.toml", f"[source.s]\nstart_urls = ['{site.url('/news/')}']\narticles = ['/news/']\n"
    )
    etag = '"' + hashlib.sha1(PAGE).hexdigest()[:16] + '"'  # the ETag conditional() sends for PAGE
    with Archive(tmp_path / "a.db") as archive:
        article = ArticleText(content_hash="h", text="A readout of the talks.", title="Talks")
        archive.record(PageRecord(site.url("/news/1.html"), "s", "127.0.0.141", 200, article=article, etag=etag))
        archive.add_site_lines("127.0.0.141", [], {site.url("/news/"): {"talks"}})  # as the first crawl left it
    cmd = [sys.executable, "-X", "importtime", "-m", "crawler", "--db", str(tmp_path / "a.db"), "--sources"]
    proc = subprocess.run(
        [*cmd, str(sources), "crawl", "--recheck", "--json"], capture_output=True, text=True, env=subprocess_env()
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("/news/1.html", 304) in site.answers
    loaded = packages_imported(proc.stderr)
    assert "scrapy" in loaded  # the importtime report was read
    assert sorted(loaded & {*NEVER_USED_BY_A_RECHECK, *EXTRACTION_LIBRARIES}) == []


def test_the_crawls_process_loads_no_extraction_library() -> None:
    # everything `readouts crawl` imports before its first page; extraction runs in the workers, which load it
    code = (
        "import sys, crawler.cli.main, crawler.run, crawler.cli.progress, crawler.cli.crawl_summary; "
        f"print(sorted(m for m in {EXTRACTION_LIBRARIES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_numpy_still_loads_for_whoever_needs_it_after_the_archive_hid_it_from_sqlite_utils() -> None:
    code = "import sys, storage.archive; hidden = 'numpy' in sys.modules; import numpy; print(hidden, numpy.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "numpy"]


def test_components_left_out_of_scrapys_lists_must_be_scrapys() -> None:
    assert without({"a.A": 0, "b.B": 500}, ("a.A",)) == {"b.B": 500}
    with pytest.raises(KeyError, match=r"c\.C"):  # renamed by a Scrapy upgrade: it would load again, unnoticed
        without({"a.A": 0}, ("a.A", "c.C"))


def test_scrapys_http_handler_loads_without_reading_every_frames_source() -> None:
    # its deprecated class aliases call inspect.stack() only to name their module: 70-160 ms of CPU at every start
    code = (
        "import inspect; calls = []; full = inspect.getframeinfo; "
        "inspect.getframeinfo = lambda *a, **k: calls.append(1) or full(*a, **k); "
        "import crawler.run; from scrapy.core.downloader import contextfactory, tls; "
        "print(len(calls), contextfactory.ScrapyClientContextFactory.__module__, "
        "tls.ScrapyClientTLSOptions.__module__, inspect.stack.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [
        "0",
        "scrapy.core.downloader.contextfactory",
        "scrapy.core.downloader.tls",
        "stack",  # inspect's own, put back once loaded
    ]


def test_a_crawl_makes_no_log_record_below_its_level() -> None:
    # Scrapy opens the root logger to every level: two DEBUG records a request, made only to be dropped
    code = (
        "import logging; from spiders.settings import BASE_SETTINGS, crawler_process; "
        "crawler_process({**BASE_SETTINGS, 'LOG_LEVEL': 'WARNING'}); "
        "print(logging.getLogger('scrapy.core.engine').isEnabledFor(logging.DEBUG), logging.root.level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", str(logging.WARNING)]


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
