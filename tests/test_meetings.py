"""Meetings: readouts recognised with kind, date, place and participants, and grouped across sites and languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extraction.article import article_text
from crawler.extraction.extract import Extracted, extract
from crawler.extraction.meetings import canonical, recognise
from storage.archive import Archive, PageRecord
from tests.fixtureweb import sites
from tests.fixtureweb.seeds import all_seeds

KREMLIN = Path(__file__).parent / "data" / "real" / "kremlin_en_2020"
EXPECTED = {  # seed: (date, place); published the day after, or later
    "000": ("2019-06-05", "Moscow"),
    "001": ("2018-06-08", "Beijing"),
    "002": ("2014-05-20", "Shanghai"),
    "003": ("2023-03-21", "Moscow"),  # "on Tuesday", published Wednesday 2023-03-22
    "004": ("2022-02-04", "Beijing"),
}
PUBLISHED = {"000": "2019-06-06", "001": "2018-06-09", "002": "2014-05-21", "003": "2023-03-22", "004": "2022-02-05"}
MFA_STYLE = """On July 4, 2017, President Xi Jinping held talks with President Vladimir Putin of Russia at the Kremlin.
The two heads of state agreed to deepen the comprehensive strategic partnership of coordination.
Xi Jinping presented his views on bilateral relations and on the situation on the Korean Peninsula."""


@pytest.mark.parametrize("seed_id", sorted(EXPECTED))
def test_each_seed_is_talks_of_xi_and_putin_on_its_day_and_place(seed_id: str) -> None:
    s = next(x for x in all_seeds() if x.id == seed_id)
    meeting = recognise(s.title, "\n".join(s.body), PUBLISHED[seed_id])
    assert meeting is not None
    assert (meeting.date, meeting.place) == EXPECTED[seed_id]
    assert meeting.participants == ("Vladimir Putin", "Xi Jinping") and meeting.kind == "talks"


def test_names_in_any_language_are_one_person() -> None:
    for form in ("Xi Jinping", "Xi", "习近平", "Си Цзиньпин", "xi jinping"):
        assert canonical(form) == "Xi Jinping"
    assert canonical("Путин") == "Vladimir Putin" and canonical("Nobody Known") is None
    meeting = recognise(
        "习近平同俄罗斯总统普京会谈", "2019年6月5日，习近平同俄罗斯总统普京在莫斯科会谈。", "2019-06-06"
    )
    assert meeting and meeting.participants == ("Vladimir Putin", "Xi Jinping") and meeting.date == "2019-06-05"
    assert meeting.place == "Moscow" and meeting.kind == "talks"


def test_a_press_conference_is_no_meeting_and_xian_is_not_xi() -> None:
    title = "Foreign Ministry Spokesperson Hua Chunying's Regular Press Conference on July 4, 2017"
    text = "Q: President Xi Jinping held talks with President Putin today. What were the results?\nA: The talks..."
    assert recognise(title, text, "2017-07-04") is None
    meeting = recognise("Li Qiang meets investors in Xi'an", "Li Qiang met investors in Xi'an on Monday.", "2024-05-08")
    assert meeting and meeting.participants == ("Li Qiang",)


# (title, text, participants): where the people come from, in the order recognise looks
PARTICIPANTS = [
    # a site that is itself a party names nobody in title or lead: the body's first two people fill in
    (
        "Russian-Chinese talks",
        "The talks took place in the Kremlin.\nVladimir Putin welcomed Xi Jinping. Later Narendra Modi called.",
        ("Vladimir Putin", "Xi Jinping"),
    ),
    # the title names one side, the lead none: the body adds one, up to two, in order of mention
    (
        "Talks with Vladimir Putin",
        "The talks were held in Moscow.\nXi Jinping, then Narendra Modi and Angela Merkel were mentioned.",
        ("Vladimir Putin", "Xi Jinping"),
    ),
    # title and lead name two: the body is not read, however many people it names
    (
        "Xi Jinping Holds Talks with Vladimir Putin",
        "On May 8, Xi Jinping held talks with Vladimir Putin. Narendra Modi sent greetings.",
        ("Vladimir Putin", "Xi Jinping"),
    ),
    # a meeting of three: the title's people and every other person of the lead
    (
        "Xi Jinping Meets Vladimir Putin",
        "On May 8, Xi Jinping met Vladimir Putin and Narendra Modi in Beijing.\nAngela Merkel was not there.",
        ("Narendra Modi", "Vladimir Putin", "Xi Jinping"),
    ),
]


@pytest.mark.parametrize("title,text,expected", PARTICIPANTS)
def test_participants_come_from_title_lead_then_body(title: str, text: str, expected: tuple[str, ...]) -> None:
    """Title first; the lead's people join a titled side; the body only fills up to two."""
    meeting = recognise(title, text, "2024-05-09")
    assert meeting is not None and meeting.participants == expected


def archive_page(archive: Archive, url: str, extracted: Extracted) -> int:
    """Archive an extracted page and return its document's meeting id."""
    article = article_text(extracted, frozenset())
    assert article is not None
    archive.record(PageRecord(url=url, source="s", host="127.0.0.9", status=200, article=article))
    row = archive.db.execute(
        "select d.meeting_id from pages p join documents d on d.id = p.document_id where p.url = ?", [url]
    ).fetchone()
    return int(row[0])


def test_kremlin_readout_and_mfa_readout_of_the_same_talks_are_one_meeting(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    pages = {}
    for number in ("54971", "54969"):
        result = extract(
            (KREMLIN / f"{number}.html").read_bytes(), f"http://en.kremlin.ru/events/president/news/{number}"
        )
        assert isinstance(result, Extracted)
        pages[number] = archive_page(archive, f"http://en.kremlin.ru/events/president/news/{number}", result)
    mfa = sites.FixtureArticle(
        "ministry",
        "/eng/xw/zyxw/201707/t20170705_1.html",
        None,
        "Xi Jinping Holds Talks with President Vladimir Putin of Russia",
        "2017-07-05",
        tuple(MFA_STYLE.splitlines()),
    )
    result = extract(sites.render_article("ministry", mfa), "http://127.0.0.2" + mfa.path)
    assert isinstance(result, Extracted)
    mfa_meeting = archive_page(archive, "http://127.0.0.2" + mfa.path, result)
    assert mfa_meeting == pages["54971"]  # the same talks, reported by both sides
    assert pages["54969"] != pages["54971"]  # the informal meeting the day before is another meeting
    (row,) = archive.db.execute("select date, place from meetings where id = ?", [mfa_meeting]).fetchall()
    assert row == ("2017-07-04", "Moscow")
