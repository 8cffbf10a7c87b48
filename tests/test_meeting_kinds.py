"""Announcements join no meeting, participants come from role phrases, and each document has its own kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.extraction.article import article_text
from crawler.extraction.extract import Extracted, extract
from crawler.extraction.meeting_kinds import document_kind, is_announcement
from crawler.extraction.meetings import canonical, participants_in, people, recognise, role_names
from storage.archive import Archive, PageRecord
from storage.meetings import same_meeting

ANNOUNCEMENTS = [  # (title, first sentence, is an announcement[, the lead's next lines])
    ("Russian-Chinese talks", "On June 5, Vladimir Putin will meet with President of China Xi Jinping.", True),
    ("Xi Jinping to pay state visit to Russia", "Xi Jinping will pay a state visit to Russia from June 5 to 7.", True),
    ("Putin and Xi will hold talks", "The leaders are to discuss trade.", True),
    ("Talks with Xi Jinping", "The President of Russia is expected to hold talks with Xi Jinping on Tuesday.", True),
    ("Upcoming visit of Xi Jinping", "Xi Jinping comes to Moscow.", True),
    ("习近平将同俄罗斯总统普京举行会谈", "外交部发言人宣布，习近平将于6月5日同普京举行会谈。", True),
    ("应俄罗斯总统普京邀请 习近平将对俄罗斯进行国事访问", "应普京邀请，习近平将对俄罗斯进行国事访问。", True),
    (
        "Переговоры с Председателем КНР Си Цзиньпином",
        "5 июня Владимир Путин проведёт переговоры с Си Цзиньпином.",
        True,
    ),
    # past-tense readouts still join their meeting
    ("Russian-Chinese talks", "Vladimir Putin held talks with President of China Xi Jinping.", False),
    ("Xi Jinping Holds Talks with President Vladimir Putin of Russia", "On June 5, Xi held talks with Putin.", False),
    ("Talks with Xi Jinping", "Putin met Xi, who will visit again next year, at the Kremlin.", False),
    ("Xi Jinping Meets with President Vladimir Putin", "The two sides will deepen cooperation.", False),
    ("习近平同俄罗斯总统普京举行会谈", "6月5日，习近平在莫斯科同普京举行会谈。", False),
    ("Переговоры с Председателем КНР Си Цзиньпином", "Владимир Путин провёл переговоры с Си Цзиньпином.", False),
]


@pytest.mark.parametrize(("title", "first", "expected"), ANNOUNCEMENTS)
def test_announcements_are_told_from_readouts(title: str, first: str, expected: bool) -> None:
    assert is_announcement(title, first) is expected


def test_a_readout_opening_on_the_next_days_talks_is_no_announcement() -> None:
    """The Kremlin's readout of the informal meeting of 3 July 2017 (tests/data/real/kremlin_en_2020/54969.html)."""
    first = "During the top-level talks the parties are expected to discuss a whole range of issues."
    lead = "Vladimir Putin met in the Kremlin with President of the People's Republic of China Xi Jinping."
    assert is_announcement("Informal meeting with President of China Xi Jinping", first, lead) is False
    assert is_announcement("Informal meeting with President of China Xi Jinping", first) is True


KINDS = [  # (title, kind the title's meeting words give, the document's own kind)
    ("Press statements following Russian-Chinese talks", "talks", "press statements"),
    ("Statements for the press following talks", "talks", "press statements"),
    ("习近平同普京共同会见记者", None, "press statements"),
    ("China-Russia Joint Statement on a New Era", None, "joint statement"),
    ("Visit to Moscow Zoo", None, "visit"),
    ("Xi Jinping holds talks with Putin during state visit", "talks", None),
    ("Official dinner in honour of Xi Jinping", None, "banquet"),
    ("Russian-Chinese talks", "talks", None),
]


@pytest.mark.parametrize(("title", "title_kind", "expected"), KINDS)
def test_a_document_kind_comes_from_its_title(title: str, title_kind: str | None, expected: str | None) -> None:
    assert document_kind(title, title_kind) == expected


ROLES = [  # text, names found after a role
    (
        "Meeting with Chinese President Xi Jinping and Mongolian President Khaltmaagiin Battulga",
        ["Xi Jinping", "Khaltmaagiin Battulga"],
    ),
    ("talks with President of Mongolia Khaltmaagiin Battulga in Ulaanbaatar", ["Khaltmaagiin Battulga"]),
    ("Xi Jinping Meets with President Emmerson Mnangagwa Of Zimbabwe", ["Emmerson Mnangagwa"]),
    (
        "met Prime Minister of Pakistan Shehbaz Sharif and Foreign Minister Bilawal Bhutto Zardari",
        ["Shehbaz Sharif", "Bilawal Bhutto Zardari"],
    ),
    ("President Putin and the President of the Republic", []),
]


@pytest.mark.parametrize(("text", "expected"), ROLES)
def test_names_follow_roles(text: str, expected: list[str]) -> None:
    assert [name for name, _ in role_names(text)] == expected


def test_a_known_name_after_a_role_is_its_canonical_person() -> None:
    assert participants_in("President Xi Jinping Held Talks with Mongolian President Ukhnaagiin Khurelsukh") == [
        "Xi Jinping",
        "Ukhnaagiin Khurelsukh",
    ]


def test_a_trilateral_meeting_lists_its_three_leaders() -> None:
    meeting = recognise(
        "Meeting with Chinese President Xi Jinping and Mongolian President Khaltmaagiin Battulga",
        "Vladimir Putin, Xi Jinping and Khaltmaagiin Battulga held the third trilateral meeting in Tashkent.\n"
        "The leaders discussed the economic corridor.",
        "2016-06-23",
    )
    assert meeting is not None and meeting.kind == "meeting" and meeting.date == "2016-06-23"
    assert meeting.participants == ("Khaltmaagiin Battulga", "Vladimir Putin", "Xi Jinping")


def test_an_announcement_dates_the_day_to_come() -> None:
    meeting = recognise(
        "Russian-Chinese talks", "On June 5, Vladimir Putin will meet with President of China Xi Jinping.", "2019-06-04"
    )
    assert meeting is not None and meeting.announcement and meeting.date == "2019-06-05"


def _archive(archive: Archive, url: str, title: str, text: str, published: str) -> int:
    """Archive one page's text and return its document id."""
    extracted = Extracted(title=title, lines=tuple(text.splitlines()), published=published, language="en")
    article = article_text(extracted, frozenset())
    assert article is not None
    archive.record(PageRecord(url=url, source="kremlin", host="127.0.0.9", status=200, article=article))
    return int(archive.db.execute("select document_id from pages where url = ?", [url]).fetchone()[0])


def test_an_announcement_joins_no_meeting_and_each_document_has_its_kind(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    archive = Archive(db)
    talks_lead = "Vladimir Putin held talks with President of China Xi Jinping in the Kremlin.\nThey discussed trade."
    docs = {
        "announce": _archive(
            archive,
            "http://127.0.0.9/1",
            "Russian-Chinese talks",
            "On June 5, Vladimir Putin will meet with President of China Xi Jinping.\nThe leaders will discuss trade.",
            "2019-06-04",
        ),
        "talks": _archive(archive, "http://127.0.0.9/2", "Russian-Chinese talks", talks_lead, "2019-06-05"),
        "press": _archive(
            archive,
            "http://127.0.0.9/3",
            "Press statements following Russian-Chinese talks",
            "Vladimir Putin and Xi Jinping made statements for the press.\nThe talks went well.",
            "2019-06-05",
        ),
        "zoo": _archive(
            archive,
            "http://127.0.0.9/4",
            "Visit to Moscow Zoo",
            "Vladimir Putin and Xi Jinping visited the Moscow Zoo.\nThey saw the pandas.",
            "2019-06-05",
        ),
    }
    archive.close()
    result = CliRunner().invoke(main, ["--db", str(db), "meetings", "--json"])
    assert result.exit_code == 0, result.output
    (meeting,) = [json.loads(line) for line in result.output.splitlines()]
    kinds = {doc["document_id"]: doc["kind"] for doc in meeting["documents"]}
    assert kinds == {docs["talks"]: "talks", docs["press"]: "press statements", docs["zoo"]: "visit"}
    assert [a["document_id"] for a in meeting["announcements"]] == [docs["announce"]]
    assert meeting["date"] == "2019-06-05" and meeting["kind"] == "talks"
    text = CliRunner().invoke(main, ["--db", str(db), "meetings"]).output
    assert "[press statements]" in text and "announced 2019-06-04" in text


def test_the_kremlins_real_announcement_joins_no_meeting(tmp_path: Path) -> None:
    """en.kremlin.ru/events/president/news/17689: "Vladimir Putin will meet with President of China Xi Jinping"."""
    page = Path(__file__).parent / "data" / "real" / "kremlin_en_2020" / "17689.html"
    result = extract(page.read_bytes(), "http://en.kremlin.ru/events/president/news/17689")
    assert isinstance(result, Extracted)
    archive = Archive(tmp_path / "a.db")
    article = article_text(result, frozenset())
    assert article is not None and article.meeting is None and article.announces is not None
    archive.record(
        PageRecord(url="http://127.0.0.3/17689", source="kremlin", host="127.0.0.3", status=200, article=article)
    )
    assert archive.db.execute("select count(*) from meetings").fetchone()[0] == 0
    assert (
        archive.db.execute("select participants from announcements").fetchone()[0] == '["Vladimir Putin", "Xi Jinping"]'
    )
    archive.close()


@pytest.mark.parametrize(
    ("form", "person"),
    [
        ("Narendra Modi", "Narendra Modi"),
        ("苏杰生", "Subrahmanyam Jaishankar"),
        ("Эрдоган", "Recep Tayyip Erdoğan"),
        ("Recep Tayyip Erdogan", "Recep Tayyip Erdoğan"),
        ("Сирил Рамафоса", "Cyril Ramaphosa"),
        ("鲁哈尼", "Hassan Rouhani"),
        ("Shehbaz Sharif", "Shehbaz Sharif"),
        ("Анналена Бербок", "Annalena Baerbock"),
        ("岸田文雄", "Fumio Kishida"),
        ("Luiz Inacio Lula da Silva", "Luiz Inácio Lula da Silva"),
    ],
)
def test_the_people_list_knows_leaders_and_foreign_ministers_in_three_scripts(form: str, person: str) -> None:
    assert canonical(form) == person


def test_every_country_of_the_people_list_names_its_source() -> None:
    lines = (
        (Path(__file__).parent.parent / "crawler" / "config" / "people.toml").read_text(encoding="utf-8").splitlines()
    )
    start = next(i for i, line in enumerate(lines) if "G20, SCO and BRICS" in line)
    headed = False
    for line in lines[start:]:
        if line.startswith("# ") and "(source:" in line:
            headed = True
        elif not line.strip():
            headed = False
        elif not line.startswith("#"):
            assert headed, f"no source for {line.split('=')[0]}"
    words = [w for aliases in people().values() for a in aliases for w in [a]]
    assert len(words) == len(set(words)), "an alias names two people"


@pytest.mark.parametrize(
    ("wanted", "stored", "same"),
    [
        ({"Xi", "Putin"}, {"Xi", "Putin"}, True),
        ({"Xi"}, {"Xi", "Putin"}, True),
        ({"Xi", "Modi"}, {"Xi", "Putin"}, False),
        ({"Xi", "Putin", "Battulga"}, {"Xi", "Putin"}, False),
        ({"Xi", "Putin"}, {"Xi", "Putin", "Battulga"}, False),
        ({"Xi", "Putin", "Battulga"}, {"Xi", "Putin", "Battulga"}, True),
        ({"Xi", "Putin", "Battulga"}, {"Putin", "Battulga", "Tokayev"}, True),
    ],
)
def test_which_documents_report_the_same_meeting(wanted: set[str], stored: set[str], same: bool) -> None:
    assert same_meeting(wanted, stored) is same


def test_a_trilateral_meeting_is_not_the_bilateral_talks_of_that_day(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db")
    _archive(
        archive,
        "http://127.0.0.9/b",
        "Russian-Chinese talks",
        "Vladimir Putin held talks with President of China Xi Jinping in Tashkent.\nThey discussed trade.",
        "2016-06-23",
    )
    _archive(
        archive,
        "http://127.0.0.9/t",
        "Meeting with Chinese President Xi Jinping and Mongolian President Khaltmaagiin Battulga",
        "Vladimir Putin, Xi Jinping and Khaltmaagiin Battulga held a trilateral meeting.\nThey discussed a corridor.",
        "2016-06-23",
    )
    rows = [json.loads(p) for (p,) in archive.db.execute("select participants from meetings order by id")]
    assert rows == [["Vladimir Putin", "Xi Jinping"], ["Khaltmaagiin Battulga", "Vladimir Putin", "Xi Jinping"]]
    archive.close()
