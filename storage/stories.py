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


def story_of(db: Database, signature: bytes, bands: tuple[str, ...]) -> int | None:
    """Return the story of the most similar archived document sharing an LSH band with a new document (None: none
    is similar enough, the document is a story of its own).

    Only documents sharing an LSH band are compared, so the cost does not grow with the archive.
    """
    marks = ", ".join("?" for _ in bands)
    candidates = db.execute(
        f"""select d.story_id, d.minhash from documents d
            where d.id in (select document_id from lsh_bands where band_key in ({marks}))""",
        list(bands),
    ).fetchall()
    best, story = STORY_THRESHOLD, None
    for candidate_story, candidate_signature in candidates:
        score = similarity(signature, candidate_signature)
        if score >= best:
            best, story = score, candidate_story
    return story


def index_bands(db: Database, document_id: int, bands: tuple[str, ...]) -> None:
    """Add a document's LSH bands to the band index, where later documents find it."""
    db.conn.executemany(
        "insert or ignore into lsh_bands (band_key, document_id) values (?, ?)", [(b, document_id) for b in bands]
    )
