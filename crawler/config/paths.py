"""Where the archive and the sources file are, for every entry point (`readouts`, `crawler.run`, the daemon)."""

from __future__ import annotations

import argparse
import os

DEFAULT_DB = "readouts.db"
DB_HELP = "The archive (an SQLite file)."
DB_DEFAULT_SHOWN = "$READOUTS_DB, else ./readouts.db"
SOURCES_HELP = "The sources file (TOML)."
SOURCES_DEFAULT_SHOWN = "$READOUTS_SOURCES, else the bundled sources file"


def default_db() -> str:
    """Return the archive to use: $READOUTS_DB when set and not empty, else ./readouts.db."""
    return os.environ.get("READOUTS_DB") or DEFAULT_DB


def entry_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """Return an argument parser with the --db and --sources options every entry point shares."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--db", default=default_db(), help=f"{DB_HELP} Default: {DB_DEFAULT_SHOWN}.")
    parser.add_argument("--sources", default=None, help=f"{SOURCES_HELP} Default: {SOURCES_DEFAULT_SHOWN}.")
    return parser
