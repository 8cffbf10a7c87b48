"""The extraction pool: one pathological page fails alone, by time or by memory, and the next page is extracted."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from crawler.extraction.extract import Extracted, Failure
from crawler.extraction.pool import ExtractorPool

GOOD = (
    b"<html><body><article><p>"
    + b"A readout of the talks held by the two ministers today. " * 20
    + b"</p></article></body></html>"
)


def huge(paragraphs: int) -> bytes:
    """A page of many paragraphs."""
    paras = "".join(f"<p>Paragraph {i} about the talks held that day in the capital.</p>" for i in range(paragraphs))
    return f"<html><body><article>{paras}</article></body></html>".encode()


def address_space() -> int:
    """This process's virtual memory size in bytes (a forked worker starts from it)."""
    return int(re.search(r"VmSize:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024  # type: ignore[union-attr]


def extract_both(pool: ExtractorPool, bad: bytes, timeout: float) -> tuple[Extracted | Failure, Extracted | Failure]:
    """Extract the bad page, then a good one, in the same pool."""

    async def both() -> tuple[Extracted | Failure, Extracted | Failure]:
        first = await pool.extract(bad, "http://127.0.0.1/bad.html", "text/html", None, timeout=timeout)
        second = await pool.extract(GOOD, "http://127.0.0.1/good.html", "text/html", None)
        return first, second

    try:
        return asyncio.run(both())
    finally:
        pool.close()


def test_a_page_over_the_memory_bound_fails_and_the_pool_goes_on() -> None:
    pool = ExtractorPool(workers=1, memory_bytes=address_space() + 300 * 1024**2)
    first, second = extract_both(pool, huge(300_000), timeout=120)  # 20 MB of paragraphs need more than 300 MB
    assert isinstance(first, Failure) and first.reason == "extraction ran out of memory", first
    assert isinstance(second, Extracted) and "two ministers" in "\n".join(second.lines)


def test_a_page_over_the_time_bound_fails_and_the_pool_goes_on() -> None:
    first, second = extract_both(ExtractorPool(workers=1), huge(100_000), timeout=2)
    assert isinstance(first, Failure) and first.reason == "extraction timed out after 2s", first
    assert isinstance(second, Extracted)
