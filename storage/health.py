"""How each source is doing: last runs, failures in a row, recent yield, and alerts."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlite_utils import Database

from storage.clock import format_time, parse_time

FAILED_SHARE_ALERT = 0.2  # more than this share of a run's pages failing extraction suggests a new template


def source_health(db: Database, name: str, now: str, stale_after: float) -> dict[str, Any]:
    """Return one source's status: last run, last success, consecutive failures, yields, alerts."""
    runs = [
        r
        for r in db.query("select * from runs where status != 'skipped' order by id desc limit 500")
        if name in json.loads(r["sources"])
    ]
    last = runs[0] if runs else None
    last_ok = next((r for r in runs if r["status"] == "ok"), None)
    failures = 0
    for run in runs:
        if run["status"] != "failed":
            break
        failures += 1
    week = format_time(parse_time(now) - timedelta(days=7))
    pages_7d, docs_7d = db.execute(
        "select count(*), count(distinct document_id) from pages where source = ? and first_seen >= ?", [name, week]
    ).fetchone()
    newest = db.execute("select max(first_seen) from pages where source = ? and content_hash is not null", [name])
    newest_article = newest.fetchone()[0]
    alerts = []
    if last is not None:
        since = newest_article or (runs[-1]["started"] if runs else now)
        if (parse_time(now) - parse_time(since)).total_seconds() > stale_after:
            alerts.append(f"no new article since {since}")
        fetched, failed = _pages_of(db, name, last)
        if fetched and failed / fetched > FAILED_SHARE_ALERT:
            alerts.append(f"{failed} of {fetched} pages failed extraction in the last run (template changed?)")
    if failures:
        samples = json.loads(runs[0]["error_samples"] or "[]")
        why = next((s["error"] for s in samples if s["url"] != name), samples[0]["error"] if samples else "")
        alerts.append(f"{failures} failed runs in a row" + (f"; the last failed with: {why}" if why else ""))
    stopped = json.loads((last or {}).get("stopped") or "{}")
    if name in stopped:
        alerts.append(f"last run stopped early: {stopped[name]}")
    return {
        "source": name,
        "last_run": _run(last),
        "last_success": last_ok["finished"] if last_ok else None,
        "consecutive_failures": failures,
        "last_run_pages": _pages_of(db, name, last)[0] if last else None,
        "last_run_new_documents": last["new_documents"] if last else None,
        "pages_7d": pages_7d,
        "new_documents_7d": docs_7d,
        "newest_article": newest_article,
        "alerts": alerts,
    }


def _pages_of(db: Database, name: str, run: dict[str, Any]) -> tuple[int, int]:
    """Return (pages fetched, pages failed) of one source in a run; a run of several sources counts them all."""
    if json.loads(run["sources"]) == [name]:
        return run["pages_fetched"] or 0, run["failed"] or 0
    fetched, failed = db.execute(
        "select count(*), count(error) from pages where source = ? and last_checked >= ? and last_checked <= ?",
        [name, run["started"], run["finished"] or "9999"],
    ).fetchone()
    return fetched, failed


def _run(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the short form of a run."""
    if run is None:
        return None
    return {k: run[k] for k in ("id", "started", "finished", "status", "trigger")}
