"""`readouts compare`: statements split and aligned on real readout pairs, named things compared, across languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli.main import main
from crawler.compare.meeting import CROSS_LANGUAGE_NOTE, compare_meeting, language_of, side_by_side
from crawler.compare.statements import align, entities, one_sided, statements
from crawler.extraction.article import article_text
from crawler.extraction.extract import Extracted, extract
from storage.archive import Archive, PageRecord
from tests.fixtureweb.seeds import all_seeds

KREMLIN = Path(__file__).parent / "data" / "real" / "kremlin_en_2020"

SPLITS = [  # text, statements
    ("习近平指出，中俄关系好。双方同意！", ["习近平指出，中俄关系好。", "双方同意！"]),
    ("他说：“我们是好朋友。”双方同意；继续合作？", ["他说：“我们是好朋友。”", "双方同意；", "继续合作？"]),
    (
        "Mr. Putin met Xi in St. Petersburg. Trade rose 2.5 percent.",
        ["Mr. Putin met Xi in St. Petersburg.", "Trade rose 2.5 percent."],
    ),
    ('He said "no limits." Trade grew.', ['He said "no limits."', "Trade grew."]),
    (
        "Путин провёл переговоры. Стороны подписали заявление.",
        ["Путин провёл переговоры.", "Стороны подписали заявление."],
    ),
    ("First line\nSecond line.", ["First line", "Second line."]),
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_statements_split_at_sentence_ends(text: str, expected: list[str]) -> None:
    assert statements(text) == expected


def kremlin_text(number: str) -> tuple[str, str]:
    """Return a real Kremlin page's title and extracted text."""
    result = extract((KREMLIN / f"{number}.html").read_bytes(), f"http://en.kremlin.ru/events/president/news/{number}")
    assert isinstance(result, Extracted)
    return result.title or "", "\n".join(result.lines)


def seed_text(seed_id: str) -> str:
    """Return a seed readout's text."""
    return "\n".join(next(s for s in all_seeds() if s.id == seed_id).body)


def test_the_mfa_and_kremlin_readouts_of_2019_06_05_share_the_talks_and_the_signing() -> None:
    mfa, kremlin = statements(seed_text("000")), statements(kremlin_text("60669")[1])
    found = align(mfa, kremlin)
    shared = {(mfa[p.a][:40], kremlin[p.b][:40]) for p in found.shared}
    assert ("On June 5, 2019 local time, President Xi", "Talks between Vladimir Putin and Preside") in shared
    assert ("After the talks, the two heads of state ", "Vladimir Putin and Xi Jinping signed a J") in shared
    assert all(50 <= p.score <= 100 for p in found.shared)
    only_kremlin = {kremlin[j][:40] for j in found.only_b}
    only_mfa = {mfa[i][:40] for i in found.only_a}
    # the Kremlin lists the documents signed; the MFA tells of the weather and of who attended
    assert "An agreement between the Government of t" in only_kremlin
    assert "A regulation on the Russian-Chinese Ener" in only_kremlin
    assert "Moscow in June enjoys shining sun and gr" in only_mfa
    assert "Ding Xuexiang, Yang Jiechi, Wang Yi, He " in only_mfa
    assert len(found.shared) + len(found.only_a) == len(mfa) and len(found.shared) + len(found.only_b) == len(kremlin)


def test_the_mfa_and_kremlin_readouts_of_2018_06_08_share_the_welcome_and_the_joint_statement() -> None:
    mfa, kremlin = statements(seed_text("001")), statements(kremlin_text("57696")[1])
    shared = {(mfa[p.a][:30], kremlin[p.b][:30]) for p in align(mfa, kremlin).shared}
    assert ("Prior to the talks, Xi Jinping", "The official ceremony to welco") in shared
    assert ("After the talks, the two heads", "A number of bilateral document") in shared


def test_unrelated_statements_sharing_names_do_not_pair() -> None:
    a = ["President Xi Jinping and President Vladimir Putin of Russia held talks."]
    b = ["President of Russia Vladimir Putin and President Xi Jinping visited the panda house at the zoo."]
    assert align(a, b).shared == ()
    assert align(a, []).only_a == (0,) and align([], b).only_b == (0,)


def test_side_by_side_keeps_each_sides_order() -> None:
    a = ["They held talks.", "It rained all day in the city.", "They signed a joint statement on trade."]
    b = ["They held talks.", "A panda arrived.", "The leaders signed a joint statement on trade."]
    rows = side_by_side(align(a, b))
    assert [(i, j) for i, j, _ in rows] == [(0, 0), (1, None), (None, 1), (2, 2)]
    # pairs that cross keep the first readout's order; the second's one-sided statements come before their next pair
    crossed = side_by_side(align(a, list(reversed(b))))
    assert [(i, j) for i, j, _ in crossed] == [(None, 1), (0, 2), (1, None), (2, 0)]


def test_named_things_on_one_side_only() -> None:
    mfa = entities(seed_text("000"), "2019-06-06")
    kremlin = entities(kremlin_text("60669")[1], "2019-06-05")
    mfa_only, kremlin_only = one_sided(mfa, kremlin), one_sided(kremlin, mfa)
    assert "70" in mfa_only["numbers"]  # "70 years ago", "the 70th anniversary": not in the Kremlin's readout
    assert "Shanghai Cooperation Organization" in mfa_only["organisations"]
    assert any("Joint Statement on Strengthening Global Strategic Stability" in a for a in kremlin_only["agreements"])
    assert "Korean Peninsula" in mfa_only["countries"]
    assert {"Vladimir Putin", "Xi Jinping"} <= mfa.people & kremlin.people and "people" in mfa_only  # Wang Yi …
    assert "2019-06-05" in mfa.dates
    quoted = entities('They spoke of a "new era" and of «no limits».')
    assert quoted.quoted == {"new era", "no limits"}


def test_readouts_in_two_languages_align_nothing_and_compare_names_numbers_dates() -> None:
    meeting = {
        "meeting_id": 7,
        "date": "2019-06-05",
        "kind": "talks",
        "participants": ["Vladimir Putin", "Xi Jinping"],
        "documents": [
            {
                "document_id": 1,
                "title": "习近平同俄罗斯总统普京会谈",
                "language": "zh",
                "published": "2019-06-06",
                "text": "2019年6月5日，习近平同俄罗斯总统普京在莫斯科会谈。双方签署2份联合声明。",
                "copies": [{"source": "mfa-zh"}],
            },
            {
                "document_id": 2,
                "title": "Российско-китайские переговоры",
                "language": "ru",
                "published": "2019-06-05",
                "text": "5 июня Владимир Путин провёл переговоры с Си Цзиньпином. Подписано 30 документов.",
                "copies": [{"source": "kremlin-ru"}],
            },
        ],
    }
    record = compare_meeting(meeting)
    assert record["shared"] == [] and record["pairs"] == [] and record["only"] == {}
    assert record["note"] == CROSS_LANGUAGE_NOTE
    assert record["entities"]["only"] == {"1": {"numbers": ["2"]}, "2": {"numbers": ["30"]}}
    by_doc = record["entities"]["by_document"]
    assert by_doc["1"]["dates"] == by_doc["2"]["dates"] == ["2019-06-05"]
    assert by_doc["1"]["people"] == by_doc["2"]["people"] == ["Vladimir Putin", "Xi Jinping"]


def _archive(archive: Archive, url: str, source: str, title: str, text: str, published: str) -> int:
    """Archive one page and return its document id."""
    extracted = Extracted(title=title, lines=tuple(text.splitlines()), published=published, language="en")
    article = article_text(extracted, frozenset())
    assert article is not None
    archive.record(PageRecord(url=url, source=source, host="127.0.0.9", status=200, article=article))
    return int(archive.db.execute("select document_id from pages where url = ?", [url]).fetchone()[0])


def test_compare_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    archive = Archive(db)
    seed = next(s for s in all_seeds() if s.id == "000")
    mfa = _archive(archive, "http://127.0.0.2/mfa", "mfa", seed.title, seed_text("000"), "2019-06-06")
    title, text = kremlin_text("60669")
    kremlin = _archive(archive, "http://127.0.0.3/60669", "kremlin", title, text, "2019-06-05")
    zoo_title, zoo_text = kremlin_text("60673")
    zoo = _archive(archive, "http://127.0.0.3/60673", "kremlin", zoo_title, zoo_text, "2019-06-05")
    meeting_id = archive.db.execute("select meeting_id from documents where id = ?", [mfa]).fetchone()[0]
    archive.close()
    listed = CliRunner().invoke(main, ["--db", str(db), "meetings", "--json"])
    (meeting,) = [json.loads(line) for line in listed.output.splitlines()]
    assert {d["document_id"]: d["kind"] for d in meeting["documents"]} == {mfa: "talks", kremlin: "talks", zoo: "visit"}
    result = CliRunner().invoke(main, ["--db", str(db), "compare", str(meeting_id), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert {"meeting_id", "documents", "shared", "only", "entities"} <= set(record)
    assert record["meeting_id"] == meeting_id and record["note"] is None
    assert {(p["a"], p["b"]) for p in record["pairs"]} == {(mfa, kremlin), (mfa, zoo)}
    talks = [s for s in record["shared"] if s["b_document"] == kremlin]
    assert any(s["a"].startswith("On June 5, 2019") and s["b"].startswith("Talks between") for s in talks)
    assert all(set(s) >= {"a", "b", "score"} for s in record["shared"])
    assert "Moscow in June enjoys shining sun and green grass." in record["only"][str(mfa)]
    assert any("giant panda pavilion" in s for s in record["only"][str(zoo)]) or any(
        "giant panda pavilion" in s["b"] for s in record["shared"]
    )
    shown = CliRunner().invoke(main, ["--db", str(db), "compare", str(meeting_id)], env={"COLUMNS": "160"})
    assert shown.exit_code == 0 and "(not said)" in shown.output and f"#{kremlin} kremlin" in shown.output
    missing = CliRunner().invoke(main, ["--db", str(db), "compare", "999"])
    assert missing.exit_code == 1 and "no meeting 999" in missing.output and "Traceback" not in missing.output


@pytest.mark.parametrize(
    ("declared", "text", "language"),
    [
        ("en-US", "Anything", "en"),
        ("zh", "Putin", "zh"),
        (None, "习近平同俄罗斯总统普京举行会谈。", "zh"),
        (None, "Владимир Путин провёл переговоры с Си Цзиньпином.", "ru"),
        (None, "Xi Jinping held talks with Vladimir Putin.", "en"),
        (None, "", "en"),
    ],
)
def test_a_documents_language_is_declared_or_read_from_its_script(
    declared: str | None, text: str, language: str
) -> None:
    assert language_of(declared, text) == language
