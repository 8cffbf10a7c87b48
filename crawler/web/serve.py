"""`readouts serve`: Datasette on a live archive, read-only, with readouts' metadata and pages."""

from __future__ import annotations

from pathlib import Path

from datasette.app import Datasette
from datasette.plugins import pm

from crawler.web import plugin
from crawler.web.metadata import metadata

TEMPLATES = Path(__file__).parent / "templates"


def build(db_path: str, allow_sql: bool = False) -> Datasette:
    """Return a Datasette serving the archive read-only (never `immutable`: a crawl may be writing it)."""
    if not pm.is_registered(plugin):
        pm.register(plugin, name="readouts")
    name = Path(db_path).stem
    return Datasette(
        files=[db_path],
        metadata=metadata(name),
        template_dir=str(TEMPLATES),
        settings={"default_allow_sql": allow_sql, "allow_download": False, "sql_time_limit_ms": 3000},
    )


def run(db_path: str, host: str, port: int, allow_sql: bool) -> None:
    """Serve the archive until interrupted."""
    import uvicorn

    uvicorn.run(build(db_path, allow_sql).app(), host=host, port=port, log_level="warning")
