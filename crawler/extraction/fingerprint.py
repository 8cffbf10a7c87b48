"""Text normalisation and the content hash that identifies a document."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANKS = re.compile(r"\n{2,}")


def normalise(text: str) -> str:
    """Return text in the canonical form that is hashed: NFKC, plain quotes and dashes, single spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n", "\n".join(line for line in lines if line)).strip()


def content_hash(text: str) -> str:
    """Return the SHA-256 hex digest of the normalised text."""
    return normal_hash(normalise(text))


def normal_hash(normal: str) -> str:
    """Return the content hash of a text already normalised (`normalise`)."""
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()
