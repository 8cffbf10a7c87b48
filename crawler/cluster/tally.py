"""A cluster run's tally kept in Redis, so a writer taking over an open run goes on counting where the last stopped."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

from crawler.model import FetchedPage
from spiders.pipeline import RunTally


def durable(tally: RunTally, held: Iterable[FetchedPage]) -> str:
    """Return the tally as JSON without what the held-back pages counted (a new writer counts them again).

    A page held back for template learning is not acknowledged: a writer that takes over records it again, and
    its first pass counted it fetched (and re-checked) only; a held listing page counted nothing.
    """
    record = dataclasses.asdict(tally)
    for page in held:
        if not page.listing:
            record["pages_fetched"] -= 1
            record["rechecked"] -= bool(page.recheck)
    return json.dumps(record)


def tally_of(raw: bytes | str | None) -> RunTally:
    """Return the tally kept for a run (a fresh one when none was kept)."""
    if raw is None:
        return RunTally()
    fields = {f.name for f in dataclasses.fields(RunTally)}
    return RunTally(**{k: v for k, v in json.loads(raw).items() if k in fields})
