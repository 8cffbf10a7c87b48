"""A text's language as trafilatura detects it (its optional dependency py3langid), for pages that declare none."""

from __future__ import annotations

import functools

from threadpoolctl import threadpool_limits
from trafilatura.utils import language_classifier

SAMPLE_CHARS = 2000  # the classifier walks every byte in Python: a page's first paragraphs tell its language


@functools.cache
def _one_blas_thread() -> None:
    """Hold numpy's BLAS to one thread in this process, once."""
    # py3langid scores with one matrix product; with BLAS threads fighting the extraction workers for two cores
    # that product took 20-30 ms instead of under 1 ms
    threadpool_limits(1)


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of the text's language (e.g. "en", "zh"), or None for a text without letters."""
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return None
    _one_blas_thread()
    return language_classifier(sample, "")
