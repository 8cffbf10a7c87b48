"""Near-duplicate fingerprints: MinHash over word shingles (character shingles for Chinese and Japanese), LSH bands.

The MinHash is datasketch 2's default ("affine32": SHA-1 32-bit hashes, MurmurHash3's finalizer, odd affine maps
modulo 2^32 from NumPy's RandomState seed 1), so signatures stored with datasketch 2 stay comparable. It is computed
here because importing datasketch loads scipy (45 MB in every process) only to choose the LSH bands, which
`lsh_params` chooses by datasketch's rule.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from functools import cache

import numpy as np

NUM_PERM = 128
WORD_SHINGLE = 5
CHAR_SHINGLE = 3
SEED = 1
_MAX_HASH = np.uint32((1 << 32) - 1)
_FMIX = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"\w+")
_INTEGRATION_STEPS = 2000


@dataclass(frozen=True)
class Fingerprint:
    """A text's MinHash signature (bytes of its hash values) and its LSH band keys."""

    signature: bytes
    bands: tuple[str, ...]


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Return the (bands, rows) whose LSH misses least at this Jaccard threshold (false positives and negatives alike).

    datasketch's rule (MinHashLSH with equal weights), integrated with NumPy instead of scipy.
    """
    below = np.linspace(0.0, threshold, _INTEGRATION_STEPS)
    above = np.linspace(threshold, 1.0, _INTEGRATION_STEPS)
    best, choice = float("inf"), (0, 0)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_pos = np.trapezoid(1 - (1 - below**rows) ** bands, below)
            false_neg = np.trapezoid((1 - above**rows) ** bands, above)
            if (error := float(0.5 * false_pos + 0.5 * false_neg)) < best:
                best, choice = error, (bands, rows)
    return choice


# lsh_params(storage.stories.STORY_THRESHOLD, NUM_PERM), fixed here so no process integrates at start (tested)
BANDS, ROWS = 32, 4


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """Return datasketch's permutation parameters (odd a, b; uint32) for `num_perm` hash functions."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def minhash(items: set[bytes], num_perm: int = NUM_PERM) -> np.ndarray:
    """Return the MinHash values (uint32) of a set of byte strings, as datasketch.MinHash(num_perm).update_batch."""
    values = np.full(num_perm, _MAX_HASH, dtype=np.uint32)
    if not items:
        return values
    h = np.array([struct.unpack("<I", hashlib.sha1(i).digest()[:4])[0] for i in items], dtype=np.uint32)
    s1, m1, s2, m2, s3 = _FMIX  # MurmurHash3's finalizer; products wrap around modulo 2^32, as intended
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    h = h ^ (h >> s3)
    a, b = _permutations(num_perm)
    return np.minimum(values, (h[:, None] * a + b).min(axis=0))


def shingles(text: str) -> set[str]:
    """Return the text's shingles: 5-word runs, or 3-character runs when it is mostly Chinese or Japanese."""
    cjk = len(_CJK.findall(text))
    if cjk > len(text) * 0.3:
        chars = [c for c in text if _CJK.match(c) or c.isalnum()]
        return {"".join(chars[i : i + CHAR_SHINGLE]) for i in range(max(len(chars) - CHAR_SHINGLE + 1, 1))}
    words = [w.lower() for w in _WORD.findall(text)]
    return {" ".join(words[i : i + WORD_SHINGLE]) for i in range(max(len(words) - WORD_SHINGLE + 1, 1))}


def fingerprint(text: str) -> Fingerprint:
    """Return the MinHash signature and LSH band keys of a text."""
    values = minhash({s.encode("utf-8") for s in shingles(text)})
    bands = tuple(
        f"{band}:{hashlib.sha1(values[band * ROWS : (band + 1) * ROWS].tobytes()).hexdigest()[:16]}"
        for band in range(BANDS)
    )
    return Fingerprint(values.astype("uint64").tobytes(), bands)
