"""The MinHash and LSH bands computed without datasketch: the same values as datasketch's, and no scipy import."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from crawler.extraction.neardup import BANDS, NUM_PERM, ROWS, fingerprint, lsh_params, minhash, shingles
from storage.stories import STORY_THRESHOLD

TEXTS = [
    "Xi Jinping held talks with President Putin in Moscow on strategic partnership and trade.",
    "习近平同俄罗斯总统普京举行会谈，双方就双边关系和共同关心的国际和地区问题交换意见。",
    "",
    "one",
]


@pytest.mark.parametrize(
    ("threshold", "num_perm", "expected"),
    [(0.4, 128, (32, 4)), (0.5, 128, (25, 5)), (0.8, 128, (9, 13)), (0.3, 64, (21, 3)), (0.9, 256, (9, 28))],
)
def test_lsh_params_choose_datasketchs_bands(threshold: float, num_perm: int, expected: tuple[int, int]) -> None:
    # the expected pairs are datasketch 2.0's MinHashLSH(threshold, num_perm).b, .r
    assert lsh_params(threshold, num_perm) == expected


def test_fixed_bands_are_the_chosen_ones() -> None:
    assert lsh_params(STORY_THRESHOLD, NUM_PERM) == (BANDS, ROWS)


@pytest.mark.parametrize("text", TEXTS)
def test_minhash_equals_datasketchs(text: str) -> None:
    datasketch = pytest.importorskip("datasketch")
    items = {s.encode() for s in shingles(text)}
    theirs = datasketch.MinHash(num_perm=NUM_PERM)
    theirs.update_batch(list(items))
    assert np.array_equal(minhash(items), theirs.hashvalues)
    assert fingerprint(text).signature == theirs.hashvalues.astype("uint64").tobytes()
    lsh = datasketch.MinHashLSH(threshold=STORY_THRESHOLD, num_perm=NUM_PERM)
    rows = lsh.r
    keys = [hashlib.sha1(theirs.hashvalues[i * rows : (i + 1) * rows].tobytes()).hexdigest()[:16] for i in range(lsh.b)]
    assert fingerprint(text).bands == tuple(f"{i}:{key}" for i, key in enumerate(keys))


def test_fingerprinting_imports_neither_datasketch_nor_scipy() -> None:
    code = (
        "import sys; from crawler.extraction.article import article_text; from crawler.extraction.neardup import "
        "fingerprint; fingerprint('a b c d e f'); print(sorted(m for m in ('scipy', 'datasketch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
