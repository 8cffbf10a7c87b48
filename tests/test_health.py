"""`readouts sources`: how each source is doing, with alerts for stale sources and failing extraction."""

from __future__ import annotations

from pathlib import Path

from storage.archive import Archive, ArticleText, PageRecord
from tests.conftest import write_sources

SOURCES = """[source.good]
start_urls = ["http://127.0.0.2/"]
articles = ["/a/"]
every = "6h"

[source.broken]
start_urls = ["http://127.0.0.3/"]
articles = ["/a/"]
stale_after = "1d"
"""


def test_sources_status_and_alerts(tmp_path: Path, readouts) -> None:
    db = tmp_path / "archive.db"
    archive = Archive(db)
    run = archive.start_run(["good"], "scheduled")
    art = ArticleText(content_hash="h1", text="text one", title="t")
    archive.record(PageRecord(url="http://127.0.0.2/a/1", source="good", host="127.0.0.2", status=200, article=art))
    archive.finish_run(run, "ok", {"pages_fetched": 1, "new_documents": 1, "failed": 0}, [])
    for _ in range(2):
        run = archive.start_run(["broken"], "scheduled")
        archive.finish_run(run, "failed", {"pages_fetched": 10, "new_documents": 0, "failed": 5}, [])
    with archive.db.conn:  # the broken source's runs happened two days ago
        archive.db.execute("update runs set started = '2020-01-01T00:00:00Z' where sources = '[\"broken\"]'")
    archive.close()
    sources = write_sources(tmp_path / "s.toml", SOURCES)
    result = readouts("--sources", str(sources), "sources", "--json")
    assert result.code == 0, result.err
    good, broken = result.jsonl()
    assert good["last_run"]["status"] == "ok" and good["consecutive_failures"] == 0 and good["alerts"] == []
    assert good["new_documents_7d"] == 1 and good["every"] == "6h"
    assert broken["consecutive_failures"] == 2
    alerts = " ".join(broken["alerts"])
    assert "5 of 10 pages failed extraction" in alerts and "no new article since" in alerts
    text = readouts("--sources", str(sources), "sources")
    assert text.code == 0 and "ALERT" in text.out
