"""The five real seed readouts, split into title, body paragraphs and the boilerplate lines they were scraped with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).parent.parent / "data" / "seeds"

# Ground truth for the tests, annotated by hand: the lines of each seed that are page chrome, not the readout.
# The extractor never sees this list; it has to find these lines by itself.
BOILERPLATE = {
    "000": ["Suggest to a Friend:"],
    "001": [
        "Home   Embassy Info   About China   China & Greece   Economy & Trade   Consular Affairs   Culture & Education"
        "   Science & Technology   The Olympics   China's EU Policy Paper",
        "Home > China News",
        "Suggest To A Friend",
    ],
    "002": [
        "Home > Topics > Fourth Summit of Conference on Interaction and Confidence Building Measures in Asia",
        "Suggest to a Friend:",
    ],
    "003": [
        "See also  New Zealand fights to save its flightless national bird",
        "See also  Saudi Arabia launches new digital platform to facilitate pilgrims worldwide",
        "See also  IS ‘caliphate’ on brink of defeat in Syria",
        "Download from Apple Store or Play Store.",
    ],
    "004": [
        "中文 Français Contact Us",
        "fmprc.gov.cn| Updated: 2022-02-05",
        "W020220204728247677856.jpg",
        "W020220204728247852197.jpg",
        "Copyright ©  China International Development Cooperation Agency. All rights reserved."
        " Presented by China Daily.",
        "京ICP备18041594号-1",
        "京公网安备 11010202005508号",
    ],
}

# The title line of each seed (the first line that is not boilerplate).
TITLES = {
    "000": "Xi Jinping Holds Talks with President Vladimir Putin of Russia",
    "001": "Xi Jinping Holds Talks with President Vladimir Putin of Russia",
    "002": "Xi Jinping Holds Talks with President Vladimir Putin of Russia, Stressing to Expand and Deepen Practical "
    "Cooperation, Promoting China-Russia Comprehensive Strategic Partnership of Coordination to Higher Level",
    "003": "Xi, Putin agree to deepen strategic partnership for new era",
    "004": "President Xi Jinping Holds Talks with Russian President Vladimir Putin",
}


@dataclass(frozen=True)
class Seed:
    """One seed readout: its id, file, title, body paragraphs and boilerplate lines in page order."""

    id: str
    path: Path
    title: str
    body: tuple[str, ...]
    lines: tuple[str, ...]  # every non-empty line of the file, boilerplate included

    @property
    def boilerplate(self) -> tuple[str, ...]:
        """Return the seed's boilerplate lines."""
        return tuple(BOILERPLATE[self.id])


def squash(line: str) -> str:
    """Collapse whitespace."""
    return " ".join(line.split())


@cache
def seed(seed_id: str) -> Seed:
    """Load one seed by its three-digit id."""
    (path,) = SEEDS.glob(f"{seed_id}_*.txt")
    lines = tuple(squash(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    junk = {squash(line) for line in BOILERPLATE[seed_id]}
    missing = junk - set(lines)
    assert not missing, f"seed {seed_id}: annotated boilerplate not in file: {missing}"
    title = squash(TITLES[seed_id])
    body = tuple(line for line in lines if line not in junk and line != title)
    return Seed(seed_id, path, title, body, lines)


def all_seeds() -> list[Seed]:
    """Return the five seeds in order."""
    return [seed(s) for s in sorted(BOILERPLATE)]
