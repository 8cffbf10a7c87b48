"""Near-duplicate stories: variants of a readout join its story; readouts of different meetings never join."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from crawler.extraction.fingerprint import content_hash
from crawler.extraction.neardup import fingerprint, shingles
from storage.archive import Archive, ArticleText, PageRecord
from storage.stories import similarity
from tests.fixtureweb.seeds import all_seeds

SEE_ALSO = "See also  Floods cut roads across the north of the island"


def variants(body: tuple[str, ...]) -> dict[str, list[str]]:
    """Copies of a readout as republishers make them."""
    lines = list(body)
    middle = len(lines) // 2
    return {
        "paragraph dropped": lines[:middle] + lines[middle + 1 :],
        "sentence edited": [lines[0].replace("President", "Chinese President", 1) + " It was sunny.", *lines[1:]],
        "see-also left in": [*lines[:2], SEE_ALSO, *lines[2:], "Download from Apple Store or Play Store."],
        "last third trimmed": lines[: max(2, len(lines) * 2 // 3)],
        "merged paragraphs": [" ".join(lines[:2]), *lines[2:]],
    }


def store(archive: Archive, url: str, text: str) -> int:
    """Archive a page with this text and return its story id."""
    fp = fingerprint(text)
    art = ArticleText(
        content_hash=content_hash(text),
        text=text,
        title="Xi Jinping Holds Talks with President Putin",
        signature=fp.signature,
        bands=fp.bands,
    )
    archive.record(PageRecord(url=url, source="s", host="127.0.0.2", status=200, article=art))
    row = archive.db.execute(
        "select d.story_id from pages p join documents d on d.id = p.document_id where p.url = ?", [url]
    ).fetchone()
    return int(row[0])


def test_seed_variants_join_their_story_and_seeds_stay_apart(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    stories = {s.id: store(archive, f"http://127.0.0.2/{s.id}", "\n".join(s.body)) for s in all_seeds()}
    false_joins = 5 - len(set(stories.values()))
    missed = []
    for s in all_seeds():
        for name, lines in variants(s.body).items():
            if store(archive, f"http://127.0.0.3/{s.id}/{name}", "\n".join(lines)) != stories[s.id]:
                missed.append((s.id, name))
    # measured with threshold 0.4, 128 permutations, 5-word shingles: no false join, no missed join
    assert false_joins == 0
    assert missed == []
    docs = archive.db.execute("select count(*), count(distinct story_id) from documents").fetchone()
    assert docs == (30, 5)  # 30 different texts, five stories


def test_chinese_text_uses_character_shingles() -> None:
    text = "当地时间2019年2月15日，杨洁篪在德国慕尼黑出席第55届慕尼黑安全会议期间会见卢森堡外交大臣阿瑟伯恩。"
    grams = shingles(text)
    assert "杨洁篪" in grams and all(len(g) == 3 for g in grams)
    assert all(" " in g for g in shingles("one two three four five six"))


def test_candidates_come_from_the_band_index_not_a_scan(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    for s in all_seeds():
        store(archive, f"http://127.0.0.2/{s.id}", "\n".join(s.body))
    plan = " ".join(
        str(row[3])
        for row in archive.db.execute(
            "explain query plan select document_id from lsh_bands where band_key in ('a', 'b')"
        ).fetchall()
    )
    assert "USING" in plan and "SCAN lsh_bands" not in plan


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1, 2, 3, 4), (1, 2, 3, 4), 1.0),
        ((1, 2, 3, 4), (1, 2, 9, 9), 0.5),
        ((1, 2, 3, 4), (5, 6, 7, 8), 0.0),
        ((1, 2, 3, 4), (1, 2), 0.0),  # signatures of different sizes are not compared
        ((), (), 0.0),
    ],
)
def test_similarity_is_the_share_of_equal_minhash_values(
    a: tuple[int, ...], b: tuple[int, ...], expected: float
) -> None:
    def signature(values: tuple[int, ...]) -> bytes:
        return struct.pack(f"={len(values)}Q", *values)

    assert similarity(signature(a), signature(b)) == expected


def test_similarity_of_real_signatures_equals_numpys_share() -> None:
    body = " ".join(all_seeds()[0].body)
    a, b = fingerprint(body).signature, fingerprint(body.replace("President", "Chinese President", 1)).signature
    share = float((np.frombuffer(a, dtype="uint64") == np.frombuffer(b, dtype="uint64")).mean())
    assert 0.0 < share < 1.0
    assert similarity(a, b) == share
