"""The few lines `readouts crawl` prints at the end: counts, then errors grouped by cause."""

from __future__ import annotations

from crawler.cli.causes import NETWORK
from crawler.run import RunResult

NAMES_SHOWN = 4  # sources named on a cause's line
SAMPLES_SHOWN = 3  # example errors printed


def summary_lines(result: RunResult, sources: int, log_file: str | None) -> list[str]:
    """Return the end-of-crawl summary for a terminal: at most a dozen lines, whatever the number of errors."""
    t = result.tally
    lines = [
        f"run {result.run_id} {result.status}: {t.pages_fetched} article pages fetched, {t.new_pages} new pages, "
        f"{t.new_documents} new documents, {t.duplicates} duplicates, {t.failed} failed, {t.errors} errors"
    ]
    if t.rechecked:
        lines.append(
            f"  re-checked {t.rechecked}: {t.unchanged} unchanged, {t.changed} changed, {t.gone} gone, {t.moved} moved"
        )
    unreached = sum(len(names) for names in result.unreached.values())
    if unreached == sources and set(result.unreached) <= NETWORK:
        lines.append("  no site could be reached: is this machine offline, or behind a proxy?")
    for cause, names in sorted(result.unreached.items(), key=lambda item: -len(item[1])):
        shown = ", ".join(names[:NAMES_SHOWN]) + (", …" if len(names) > NAMES_SHOWN else "")
        lines.append(f"  {_count(len(names), 'source')} {cause} ({shown})")
    for cause, count in result.page_causes.most_common():
        lines.append(f"  {_count(count, 'request')} {cause}")
    if t.recleaned:
        lines.append(f"  {t.recleaned} archived pages cleaned again of a template learned since")
    if t.notify_pending:
        lines.append(f"  {t.notify_pending} events could not be notified; `readouts notify` retries")
    for name, reason in t.stopped.items():
        lines.append(f"  stopped {name}: {reason}")
    for name, bound in t.bounded.items():
        lines.append(f"  {name}: {_bounded(bound)}")
    if t.errors and not result.unreached:
        lines.extend(f"  error: {s['url']}: {s['error']}" for s in t.error_samples[:SAMPLES_SHOWN])
    if log_file:
        lines.append(f"  the details are in Scrapy's log: {log_file}" if t.errors else f"  Scrapy's log: {log_file}")
    return lines


def _bounded(bound: dict[str, int]) -> str:
    """Say what a source's bound left for later: pages not fetched yet, re-checks still due."""
    parts = []
    if bound["resume_at"]:
        parts.append(f"{_count(bound['resume_at'], 'page')} left for the next crawl, which resumes there")
    if bound["rechecks_left"]:
        parts.append(f"{_count(bound['rechecks_left'], 're-check')} still due")
    return f"stopped at max_pages = {bound['max_pages']}: " + "; ".join(parts) + " (raise max_pages or --max-pages)"


def _count(n: int, noun: str) -> str:
    """Return "1 source" or "3 sources"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
