"""`readouts serve`: Datasette on a live archive, read-only, with readouts' metadata and pages."""

from __future__ import annotations

from pathlib import Path

from datasette.app import Datasette
from datasette.plugins import pm

from crawler.web import errors, plugin
from crawler.web.metadata import metadata

TEMPLATES = Path(__file__).parent / "templates"
# characters of a text shown in a list of rows (a readout is about 6,500; its row page shows all of it)
CELL_PREVIEW = 300
# rows on a page: each costs about 0.25 ms to render, and a search rarely needs more than its first 20
PAGE_SIZE = 20
# queries run in the event loop, not in a pool of threads: handing each query to a thread and back costs about 4 ms
# of CPU a search page (on 2 busy cores); a local browser's requests are one at a time, and a slow query (a count of
# 78,000 matches, 0.2 s) holds the next request back rather than sharing the cores with it
SQL_THREADS = 0


def build(db_path: str, allow_sql: bool = False) -> Datasette:
    """Return a Datasette serving the archive read-only (never `immutable`: a crawl may be writing it)."""
    for module, name in ((plugin, "readouts"), (errors, "readouts-errors")):
        if not pm.is_registered(module):
            pm.register(module, name=name)
    if not pm.is_blocked(errors.DEFAULT_HANDLER):
        pm.set_blocked(errors.DEFAULT_HANDLER)  # its rich traceback turns every 404 into a 500 (see errors.py)
    name = Path(db_path).stem
    return Datasette(
        files=[db_path],
        metadata=metadata(name),
        template_dir=str(TEMPLATES),
        # no suggested facets: they cost a query per column on every page; the useful facets are set in metadata
        settings={
            "default_allow_sql": allow_sql,
            "allow_download": False,
            "sql_time_limit_ms": 3000,
            "suggest_facets": False,
            "truncate_cells_html": CELL_PREVIEW,
            "default_page_size": PAGE_SIZE,
            "num_sql_threads": SQL_THREADS,
        },
    )


def run(db_path: str, host: str, port: int, allow_sql: bool) -> None:
    """Serve the archive until interrupted."""
    import warnings

    import uvicorn

    # Datasette 0.65 leaves facet coroutines unawaited when a request fails on a bad parameter: harmless, but noisy
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)

    uvicorn.run(build(db_path, allow_sql).app(), host=host, port=port, log_level="warning")
