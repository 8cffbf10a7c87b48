"""The user's people.toml, next to their sources file: more people and spellings, without editing the package."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path

from crawler.errors import ConfigError

PEOPLE_ENV = "READOUTS_PEOPLE"  # set by the CLI for itself and the processes it starts (extraction workers, crawls)
FILE_NAME = "people.toml"


def bundled_people_path() -> Path:
    """Return the path of the bundled people.toml."""
    return Path(str(resources.files("crawler.config").joinpath(FILE_NAME)))


def user_people_path(sources_path: str | Path) -> Path:
    """Return where the user's people.toml goes: beside the sources file."""
    return Path(sources_path).parent / FILE_NAME


def read_people(text: str, origin: str) -> dict[str, tuple[str, ...]]:
    """Parse a people file (canonical name = [spellings…]), or raise ConfigError naming the file and the name."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", "", f"{origin}: not valid TOML: {exc}") from None
    people = {}
    for name, aliases in data.items():
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise ConfigError("", name, f'{origin}: give a list of spellings, like "{name}" = ["{name}", …]')
        people[name] = tuple(aliases)
    return people


def use_user_people(sources_path: str | Path) -> Path | None:
    """Point readouts at the people.toml beside the sources file, when there is one (checked now: ConfigError)."""
    path = user_people_path(sources_path)
    if not path.is_file() or path.resolve() == bundled_people_path().resolve():
        return None
    read_people(path.read_text(encoding="utf-8"), str(path))
    os.environ[PEOPLE_ENV] = str(path)
    return path


def all_people() -> dict[str, tuple[str, ...]]:
    """Return canonical name -> spellings: the bundled file, extended by the user's (more people, more spellings)."""
    people = read_people(bundled_people_path().read_text(encoding="utf-8"), FILE_NAME)
    extra = os.environ.get(PEOPLE_ENV)
    if extra and Path(extra).is_file():
        for name, aliases in read_people(Path(extra).read_text(encoding="utf-8"), extra).items():
            people[name] = tuple(dict.fromkeys(people.get(name, ()) + aliases))
    return people
