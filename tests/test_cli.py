"""The CLI surface: every command has --help and is in the README; clear errors without an archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(main.commands)  # type: ignore[attr-defined]


def test_expected_commands_exist() -> None:
    assert {"crawl", "export", "documents", "search", "runs", "sources"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert len(main.commands[command].help or "") > 20  # type: ignore[attr-defined]
    assert f"`readouts {command}" in README
    for param in main.commands[command].params:  # type: ignore[attr-defined]
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert opt in README, f"{command} {opt} is not in the README"


def test_global_options_documented() -> None:
    for opt in ("--db", "--sources", "READOUTS_DB", "READOUTS_SOURCES"):
        assert opt in README


@pytest.mark.parametrize("command", [["search", "x"], ["documents"], ["export"], ["runs"]])
def test_reading_a_missing_archive_is_a_clear_error(tmp_path: Path, readouts, command: list[str]) -> None:
    result = readouts(*command, db=tmp_path / "none.db")
    assert result.code == 1 and "no archive at" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "none.db").exists()


def test_sources_lists_the_bundled_sources(readouts) -> None:
    result = readouts("sources")
    assert result.code == 0 and "mfa-activities" in result.out and "kremlin-news" in result.out
