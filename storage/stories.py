"""Stories: documents whose texts are near-duplicates (MinHash estimate) share a story id, found through LSH bands."""

from __future__ import annotations

from sqlite_utils import Database

STORY_THRESHOLD = 0.4  # estimated Jaccard of shingle sets from which two documents are one story (see tests)


def similarity(a: bytes, b: bytes) -> float:
    """Return the Jaccard similarity estimated from two MinHash signatures (uint64 arrays as bytes)."""
    # plain Python (about 10 µs for 128 values): NumPy would cost every crawl's process 0.1 s to load
    if len(a) != len(b) or len(a) < 8 or len(a) % 8:
        return 0.0
    left, right = memoryview(a).cast("Q"), memoryview(b).cast("Q")
    return sum(x == y for x, y in zip(left, right, strict=True)) / len(left)


def assign_story(db: Database, document_id: int, signature: bytes, bands: tuple[str, ...]) -> int:
    """Index a new document's bands and return its story: the most similar earlier document's, else its own id.

    Only documents sharing an LSH band are compared, so the cost does not grow with the archive.
    """
    marks = ", ".join("?" for _ in bands)
    candidates = db.execute(
        f"""select d.id, d.story_id, d.minhash from documents d
            where d.id in (select document_id from lsh_bands where band_key in ({marks})) and d.id != ?""",
        [*bands, document_id],
    ).fetchall()
    best, story = STORY_THRESHOLD, document_id
    for _, candidate_story, candidate_signature in candidates:
        score = similarity(signature, candidate_signature)
        if score >= best:
            best, story = score, candidate_story
    db.conn.executemany(
        "insert or ignore into lsh_bands (band_key, document_id) values (?, ?)", [(b, document_id) for b in bands]
    )
    db.execute("update documents set story_id = ?, minhash = ? where id = ?", [story, signature, document_id])
    return int(story)
