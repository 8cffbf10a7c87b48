"""The CLI surface: every command has --help and is in the README; clear errors without an archive."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from tests.conftest import in_process

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


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["history", "http://a.example/1"], "no revisions of http://a.example/1 in the archive"),
        (["diff", "http://a.example/1"], "no revisions of http://a.example/1 in the archive"),
        (["capture", "http://a.example/1"], "no capture of http://a.example/1 in the archive"),
        (["capture", "http://a.example/1", "--revision", "2"], "no capture of http://a.example/1 revision 2"),
    ],
)
def test_a_page_not_in_the_archive_is_a_clear_error(tmp_path: Path, command: list[str], message: str) -> None:
    from storage.archive import Archive

    db = tmp_path / "a.db"
    Archive(db).close()
    result = CliRunner().invoke(main, ["--db", str(db), *command])
    assert result.exit_code == 1 and f"Error: {message}" in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_not_found_is_a_lookup_error_of_the_archive_listed_with_every_error(tmp_path: Path) -> None:
    from crawler import errors
    from storage import changes
    from storage.archive import Archive

    assert issubclass(errors.NotFound, errors.ArchiveError) and issubclass(errors.NotFound, LookupError)
    for name in ("ConfigError", "Busy", "NotADemoArchive", "DecodeError"):
        assert issubclass(getattr(errors, name), errors.ReadoutsError)
        assert name in (errors.__doc__ or "")
    archive = Archive(tmp_path / "a.db")
    try:
        with pytest.raises(errors.NotFound, match="no revisions"):
            changes.revision_diff(archive.db, "http://a.example/1")
        with pytest.raises(errors.NotFound, match="no capture"):
            changes.capture_location(archive.db, "http://a.example/1")
    finally:
        archive.close()


@pytest.mark.parametrize(("env", "expected"), [("", "readouts.db"), ("x/a.db", "x/a.db")])
def test_every_entry_point_takes_db_from_one_definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, expected: str
) -> None:
    import scheduler
    from crawler import run
    from crawler.config.paths import entry_parser

    monkeypatch.setenv("READOUTS_DB", env)  # an empty READOUTS_DB means the default, everywhere
    monkeypatch.chdir(tmp_path)
    assert entry_parser("p", "d").parse_args([]).db == expected
    result = CliRunner().invoke(main, ["runs"])
    assert result.exit_code == 1 and f"no archive at {expected}" in result.output
    parsers: list[str] = []
    monkeypatch.setattr(run, "entry_parser", lambda *a: parsers.append("run") or entry_parser(*a))
    monkeypatch.setattr(scheduler, "entry_parser", lambda *a: parsers.append("scheduler") or entry_parser(*a))
    for entry in (run.main, scheduler.main):
        with pytest.raises(SystemExit):
            entry(["--help"])
    assert parsers == ["run", "scheduler"]


def test_readme_names_every_module_where_it_lives() -> None:
    root = Path(__file__).parent.parent
    modules = [
        p.relative_to(root).as_posix() for d in ("crawler", "spiders", "storage") for p in (root / d).rglob("*.py")
    ]
    missing = [m for m in modules if not m.endswith(("__init__.py", "__main__.py")) and f"`{m}`" not in README]
    assert not missing and "`scheduler.py`" in README, f"README's module table lacks {missing}"
    assert (root / "docs" / "architecture.md").is_file() and "docs/architecture.md" in README


@pytest.mark.parametrize(
    ("args", "here"),
    [
        (("export",), True),
        (("search", "crawl"), True),  # a search for the word "crawl" is still a search
        (("--sources", "s.toml", "crawl", "--json"), False),
        (("--sources", "export", "crawl"), False),  # an option's value is not the command
        (("--db", "search", "demo"), False),
        (("sources", "--json"), True),
        (("sources", "--try", "s"), False),  # --try crawls
        (("sources", "--new", "a", "http://127.0.0.2/"), False),  # --new fetches
        (("schedule",), False),
        (("--help",), False),
    ],
)
def test_only_read_commands_run_in_the_test_process(args: tuple[str, ...], here: bool) -> None:
    assert in_process(args) is here
