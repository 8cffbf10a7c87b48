"""The trie alternation matches exactly what the plain longest-first alternation of the same words matches."""

from __future__ import annotations

import random
import re

import pytest

from crawler.extraction.alternation import alternation


def plain(words: list[str]) -> str:
    """The pattern the trie replaces: every word escaped, longest first, joined by |."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def matches(pattern: str, text: str) -> list[tuple[int, str]]:
    """Every match of a pattern in a text, with where it starts."""
    return [(m.start(), m.group()) for m in re.finditer(pattern, text)]


# (words, text, around: a pattern the alternation is wrapped in, as meetings.py wraps the people's names)
CASES = [
    (["Xi", "Xi Jinping"], "Xi Jinping met Xi", "{}", [(0, "Xi Jinping"), (15, "Xi")]),
    # a lookahead after the group makes the longer word fail: the trie must fall back to the shorter one
    (["Li", "Li Qiang"], "Li Qiangx and Li", r"(?:{})(?!x)", [(0, "Li"), (14, "Li")]),
    (["Xi"], "Xi'an is no person; Xi is", r"(?<![\w-])(?:{})(?![\w-]|['’]an)", [(20, "Xi")]),
    (["a.b", "a+b", "(c)"], "axb a.b a+b (c) c", "{}", [(4, "a.b"), (8, "a+b"), (12, "(c)")]),
    (["普京", "习近平", "习"], "习近平会见普京，习", "{}", [(0, "习近平"), (5, "普京"), (8, "习")]),
    (["ab", "abc", "abcd"], "abcab abc", "{}", [(0, "abc"), (3, "ab"), (6, "abc")]),
    ([], "anything", "{}", []),
]


@pytest.mark.parametrize("words,text,around,expected", CASES)
def test_the_trie_finds_what_the_plain_alternation_finds(
    words: list[str], text: str, around: str, expected: list[tuple[int, str]]
) -> None:
    """Each case: the expected matches, from both the trie and the plain alternation (which pins the expectation)."""
    assert matches(around.format(alternation(words)), text) == expected
    if words:
        assert matches(around.format(plain(words)), text) == expected


def test_the_trie_agrees_with_the_plain_alternation_on_random_words() -> None:
    """Random words over a small alphabet (many shared prefixes) and a lookahead that forces backtracking."""
    rng = random.Random(7)
    for _ in range(300):
        words = list({"".join(rng.choice("ab. ") for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 8))})
        text = "".join(rng.choice("ab. x") for _ in range(40))
        around = r"(?:{})(?!b)"
        assert matches(around.format(alternation(words)), text) == matches(around.format(plain(words)), text), words
