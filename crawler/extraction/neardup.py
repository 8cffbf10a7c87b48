"""Near-duplicate fingerprints: MinHash over word shingles (character shingles for Chinese and Japanese), LSH bands."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from storage.stories import STORY_THRESHOLD

NUM_PERM = 128
WORD_SHINGLE = 5
CHAR_SHINGLE = 3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"\w+")
_LSH = MinHashLSH(threshold=STORY_THRESHOLD, num_perm=NUM_PERM)  # only to choose bands and rows for the threshold
_BANDS, _ROWS = _LSH.b, _LSH.r


@dataclass(frozen=True)
class Fingerprint:
    """A text's MinHash signature (bytes of its hash values) and its LSH band keys."""

    signature: bytes
    bands: tuple[str, ...]


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
    minhash = MinHash(num_perm=NUM_PERM)
    minhash.update_batch([s.encode("utf-8") for s in shingles(text)])
    values = minhash.hashvalues
    bands = tuple(
        f"{band}:{hashlib.sha1(values[band * _ROWS : (band + 1) * _ROWS].tobytes()).hexdigest()[:16]}"
        for band in range(_BANDS)
    )
    return Fingerprint(values.astype("uint64").tobytes(), bands)
