"""The demo's steps: serve the sample web, crawl it, edit one readout, re-crawl, and report from the archive."""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.demo.web import EDITED, SITES, DemoSite, sources_toml
from crawler.errors import NotADemoArchive

DEMO_PREFIX = "demo-"


def this_command(argv0: str | None = None) -> str:
    """Return how to run the `readouts` now running, as a shell command that works when copied (not on PATH)."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name == "readouts":
        return shlex.quote(str(script.absolute()))
    return f"{shlex.quote(sys.executable)} -m crawler"


def is_demo_archive(path: Path) -> bool:
    """Return True when every crawl recorded in the file is of demo sources."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            runs = [json.loads(s) for (s,) in db.execute("select sources from runs")]
    except sqlite3.Error:
        return False
    return all(name.startswith(DEMO_PREFIX) for names in runs for name in names)


def reset(path: Path) -> bool:
    """Remove a previous demo archive (and its WARC folder); refuse any other file. Returns True if one was removed."""
    if not path.exists():
        return False
    if not is_demo_archive(path):
        raise NotADemoArchive(f"{path} exists and is not a demo archive: choose another --db")
    for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    shutil.rmtree(Path(f"{path}.warc"), ignore_errors=True)
    return True


def crawl(db: Path, sources: Path, *args: str) -> dict[str, Any]:
    """Run `readouts crawl --json` in a subprocess (one crawl per process, as always) and return its summary."""
    cmd = [sys.executable, "-m", "crawler", "--db", str(db), "--sources", str(sources), "crawl", "--json", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"demo crawl failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def summary(db: Path) -> dict[str, Any]:
    """What the archive holds after the demo: pages, documents, shared documents, meetings and changes."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "pages": one("select count(*) from pages where content_hash is not null"),
            "documents": one("select count(*) from documents"),
            "republished": one(
                "select count(*) from (select document_id from copies group by document_id having count(*) > 1)"
            ),
            "meetings": one("select count(*) from meetings"),
            "changed": one("select count(*) from events where kind = 'changed'"),
            "changed_url": one("select url from events where kind = 'changed' order by id limit 1"),
            "largest_meeting": one(
                "select meeting_id from documents where meeting_id is not null group by meeting_id "
                "order by count(*) desc, meeting_id limit 1"
            ),
        }


def run_demo(db: Path, say: Callable[[str], None], quiet: bool = False) -> dict[str, Any]:
    """Serve the sample web, crawl it, edit one readout, re-crawl, and print what happened (with `quiet`, only what
    the archive holds and what to try next); return the summary."""
    step = (lambda _: None) if quiet else say
    if reset(db):
        step(f"removed the previous demo archive {db}")
    sites = [DemoSite(name).start() for name in SITES]
    try:
        with tempfile.TemporaryDirectory(prefix="readouts-demo-") as tmp:
            sources = Path(tmp) / "demo-sources.toml"
            sources.write_text(sources_toml(sites), encoding="utf-8")
            step(f"serving a sample web on loopback: {', '.join(f'{s.name} {s.base}' for s in sites)}")
            first = crawl(db, sources)
            step(
                f"crawl 1: {first['pages_fetched']} pages fetched, {first['new_documents']} documents, "
                f"{first['duplicates']} republished copies recognised"
            )
            site, stem = EDITED
            next(s for s in sites if s.name == site).edit(stem)
            step(f"the {site} silently edits one sentence of its {stem} readout")
            second = crawl(db, sources, "--recheck")
            step(f"crawl 2 (--recheck): {second['rechecked']} pages re-checked, {second['changed']} changed")
    finally:
        for s in sites:
            s.stop()
    found = summary(db)
    step("")
    say(
        f"{db} now holds {found['pages']} pages as {found['documents']} documents "
        f"({found['republished']} published on more than one site), {found['meetings']} meetings, "
        f"{found['changed']} change caught."
    )
    say("Try next:")
    run = f"{this_command()} --db {shlex.quote(str(db))}"
    say(f"  {run} search Putin")
    say(f"  {run} search 全面战略协作")
    say(f"  {run} meetings --participant Xi")
    say(f"  {run} changes")
    say(f"  {run} diff {found['changed_url']}")
    say(f"  {run} serve   (then open http://127.0.0.1:8001/-/readouts/meeting/{found['largest_meeting']})")
    return found
