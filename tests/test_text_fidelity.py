"""The archived text is what was published: every speaker, one-sentence readouts, no footer, heading or title.

Each page here is a real saved page (tests/data/real) or one built from a real page's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from crawler.demo import web as demo
from crawler.extraction import boilerplate
from crawler.extraction.article import article_text
from crawler.extraction.decode import decode_html, stray_bytes
from crawler.extraction.extract import Extracted, clean_lines, extract
from crawler.extraction.language import SAMPLE_CHARS, detect_language
from crawler.extraction.shapes import chinese_footer, hidden, speaker_label
from crawler.extraction.soft404 import MAX_NOTICE_CHARS, looks_missing
from tests.conftest import write_sources
from tests.mockserver import Reply

REAL = Path(__file__).parent / "data" / "real"
KREMLIN = REAL / "kremlin_en_2020"
NEWS = "http://en.kremlin.ru/events/president/news/"


def extracted(body: bytes, url: str, content_type: str | None = "text/html; charset=utf-8") -> Extracted:
    """Extract a page that must yield an article."""
    result = extract(body, url, content_type)
    assert isinstance(result, Extracted), result
    return result


def kremlin_page(name: str, body: str | None = None, lead: str | None = None) -> str:
    """A real en.kremlin.ru page, its body paragraphs (all after the photos) or lead paragraph replaced when given."""
    page = (KREMLIN / name).read_text(encoding="utf-8")
    if lead is not None:
        page = re.sub(r'(id="read-lead">\s*<div><p>).*?(</p></div>)', rf"\g<1>{lead}\g<2>", page, count=1, flags=re.S)
    if body is not None:
        start = page.index("<p>", page.index('itemprop="articleBody"'))
        page = page[:start] + body + page[page.index('<div class="read__bottommeta') :]
    return page


def person(number: int, listed: str, role: str, shown: str, hiding: str = 'class="tooltip"') -> str:
    """A person link of en.kremlin.ru transcripts (2019-2020 layout), holding its hidden tooltip."""
    return (
        f'<a href="/catalog/persons/{number}/events" class="person_tag read__tag"><span {hiding}>'
        f'<img src="http://static.kremlin.ru/media/events/persons/small/{number}.jpeg" alt="{listed}">'
        f'<span class="tooltip__text"><span class="tooltip_title">{listed}</span>'
        f'<span class="tooltip_description_dark">{role}</span></span></span>{shown}</a>'
    )


PUTIN = person(1, "Putin Vladimir", "President of Russia", "President of Russia Vladimir Putin")
ERDOGAN = person(122, "Erdogan Recep Tayyip", "President of Turkey", "President of Turkey Recep Tayyip Erdogan")
BELOUSOV = person(7, "Belousov Andrei", "Minister", "Economic Development Minister Andrei Belousov")
SPEECH = (
    "We have agreed to continue work on the gas pipeline and on the nuclear power plant, and trade grew this year.",
    "Our ministers have prepared a plan of consultations for the coming year, and we approved it today in full.",
    "The state corporation has delivered the first aircraft to our partners ahead of the schedule agreed in 2018.",
    "The new investment fund will finance projects in agriculture, transport and the digital economy next year.",
    "Let me thank our colleagues from the regions for their work, which made today's agreements possible.",
)


TRANSCRIPT = (
    f"<p>{PUTIN}: Friends,</p><p>{SPEECH[0]}</p>"
    f"<p>{ERDOGAN} <i>(retranslated)</i>:<br>Mr President, thank you.</p><p>{SPEECH[1]}</p>"
    f"<p><b>Rostec State Corporation CEO Sergei Chemezov:</b></p><p>{SPEECH[2]}</p>"
    f"<p>{BELOUSOV}: Thank you.</p><p>{SPEECH[3]}</p>"
    f"<p>{PUTIN}:</p><p>{SPEECH[4]}</p>"
    f"<p>{PUTIN}: Good luck to you all</p>"
)


def test_every_speaker_of_a_kremlin_transcript_is_kept_in_place() -> None:
    result = extracted(kremlin_page("54979.html", TRANSCRIPT).encode(), NEWS + "54979")
    assert result.lines[1:] == (
        "President of Russia Vladimir Putin: Friends,",  # a short first turn is no edge junk
        SPEECH[0],
        "President of Turkey Recep Tayyip Erdogan (retranslated):",  # tooltip text made this link-dense
        "Mr President, thank you.",
        SPEECH[1],
        "Rostec State Corporation CEO Sergei Chemezov:",
        SPEECH[2],
        "Economic Development Minister Andrei Belousov: Thank you.",  # a short linked turn
        SPEECH[3],
        "President of Russia Vladimir Putin:",  # a linked label in its own paragraph
        SPEECH[4],
        "President of Russia Vladimir Putin: Good luck to you all",  # a last turn without closing punctuation
    )
    assert "Erdogan Recep Tayyip" not in result.text and "President of TurkeyPresident" not in result.text


@pytest.mark.parametrize(
    "hiding",
    ['class="read__tooltip tooltip_person hidden masha-ignore"', 'class="hidden"', 'style="display: none"', "hidden"],
)
def test_a_tooltip_hidden_any_way_is_no_text_and_no_link_text(hiding: str) -> None:
    minister = person(7, "Belousov Andrei", "Minister", "Economic Development Minister Andrei Belousov", hiding)
    body = f"<p>{SPEECH[0]}</p><p>{minister}: Thank you.</p><p>{SPEECH[1]}</p>"
    result = extracted(kremlin_page("54979.html", body).encode(), NEWS + "54979")
    assert result.lines[1:] == (SPEECH[0], "Economic Development Minister Andrei Belousov: Thank you.", SPEECH[1])


def test_only_the_links_inside_a_speakers_label_are_spared() -> None:
    related = '<p>Related Stories: <a href="/n/1">Russian-Chinese talks</a> <a href="/n/2">Meeting in Minsk</a></p>'
    body = f"<p>{SPEECH[0]}</p>{related}<p>{SPEECH[1]}</p>"
    result = extracted(kremlin_page("54979.html", body).encode(), NEWS + "54979")
    assert result.lines[1:] == (SPEECH[0], SPEECH[1])


def test_real_transcript_keeps_its_speakers_and_none_of_their_hidden_tooltips() -> None:
    result = extracted((KREMLIN / "52820.html").read_bytes(), NEWS + "52820")
    assert any(line.startswith("President of China Xi Jinping (retranslated): It is a great") for line in result.lines)
    assert "President of Russia Vladimir Putin: President Xi Jinping, friends," in result.lines
    assert "President of People's Republic of China" not in result.text  # the tooltip's description


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("President of Russia Vladimir Putin: Friends,", "President of Russia Vladimir Putin:"),
        (
            "President of the People’s Republic of China Xi Jinping (retranslated): Mr President",
            "President of the People’s Republic of China Xi Jinping (retranslated):",
        ),
        ("Rostec State Corporation CEO Sergei Chemezov:", "Rostec State Corporation CEO Sergei Chemezov:"),
        ("Economic Development Minister Andrei Belousov: Thank you.", "Economic Development Minister Andrei Belousov:"),
        (  # a dash joins a long title
            "Deputy Prime Minister – Plenipotentiary Envoy Yury Trutnev: Yes.",
            "Deputy Prime Minister – Plenipotentiary Envoy Yury Trutnev:",
        ),
        ("В.Путин: Добрый день.", "В.Путин:"),
        ("Question: Will you meet again?", None),  # one word is no speaker
        ("The Ministry said: talks went well.", None),  # a sentence, not a title and name
        ("President of the: no name", None),
        ("See also: Russian-Chinese talks", None),
        ("Updated: 2022-02-05", None),
        ("Time 12:30", None),
    ],
)
def test_speaker_label_shape(line: str, label: str | None) -> None:
    assert speaker_label(line) == label


@pytest.mark.parametrize(
    ("attrib", "is_hidden"),
    [
        ({"class": "tooltip"}, True),
        ({"class": "read__tooltip tooltip_person hidden masha-ignore"}, True),
        ({"class": "tooltip__text"}, True),
        ({"style": "display: none"}, True),
        ({"style": "visibility:hidden;color:red"}, True),
        ({"hidden": ""}, True),
        ({"class": "person_tag read__tag"}, False),
        ({"class": "has-tooltip"}, False),  # the visible element a tooltip belongs to
        ({"class": "hidden-xs"}, False),  # hidden on small screens only
        ({"style": "display:block"}, False),
        ({}, False),
    ],
)
def test_hidden_element_shape(attrib: dict[str, str], is_hidden: bool) -> None:
    assert hidden(attrib) is is_hidden


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (["Economic Development Minister Andrei Belousov: Thank you."], 1),
        (["President of Russia Vladimir Putin: Friends,", "A sentence."], 2),
        (["A sentence.", "President of Russia Vladimir Putin: Good luck"], 2),
        (["Home News Events", "A sentence.", "Print version Share"], 1),
    ],
)
def test_speaker_turns_are_never_edge_junk(raw: list[str], kept: int) -> None:
    assert len(clean_lines(raw)) == kept


def test_a_speakers_label_is_never_taken_for_a_sites_template() -> None:
    label = "President of Russia Vladimir Putin:"
    template = frozenset({boilerplate.line_key(label), boilerplate.line_key("Home News Events")})
    lines = ("Home News Events", label, SPEECH[0], label, "Home News Events")
    assert boilerplate.strip_template(lines, template) == (label, SPEECH[0], label)
    assert not boilerplate.has_template_edge("\n".join((label, SPEECH[0], label)), template)  # nothing to clean again


ONE_SENTENCE = "Vladimir Putin met with FIFA President Gianni Infantino."


def test_a_readout_of_one_sentence_keeps_it() -> None:
    page = kremlin_page("54969.html", body="", lead=ONE_SENTENCE)  # the real layout: lead, photo block, no body
    result = extracted(page.encode(), NEWS + "57715")
    assert result.lines[0] == ONE_SENTENCE
    article = article_text(result, frozenset())
    assert article is not None and article.text.startswith(ONE_SENTENCE)
    assert extracted(one_sentence_page().encode(), NEWS + "57715").lines == (ONE_SENTENCE,)  # nothing but the lead


def one_sentence_page() -> str:
    """The real Kremlin layout holding a lead of one sentence and nothing else."""
    page = kremlin_page("54969.html", lead=ONE_SENTENCE)
    return page[: page.index('<div class="media masha-ignore">')] + page[page.index('<div class="read__bottommeta') :]


def test_title_is_never_text_and_the_lead_comes_first() -> None:
    # the real page: trafilatura returns the body, then the title and the lead as body lines
    result = extracted((KREMLIN / "54969.html").read_bytes(), NEWS + "54969")
    assert result.title == "Informal meeting with President of China Xi Jinping"
    assert result.lines[0].startswith("Vladimir Putin met in the Kremlin with President of the People's Republic")
    assert result.lines[1].startswith("During the top-level talks")
    assert result.title not in result.lines and len(result.lines) == 2


def test_an_orphan_see_also_heading_goes_with_its_links() -> None:
    # the real page: a "See also" block (heading, link, date) between two paragraphs of the President's statement
    result = extracted((KREMLIN / "54979.html").read_bytes(), NEWS + "54979")
    assert "See also" not in result.lines
    assert not any(line.startswith("Russian-Chinese talks") for line in result.lines)
    where = next(i for i, line in enumerate(result.lines) if line.startswith("I would like to emphasise"))
    assert result.lines[where + 1].startswith("During our conversations")


def test_a_heading_with_text_of_its_own_stays() -> None:
    links = "".join(f'<li><a href="/n/{n}">Related story number {n}</a></li>' for n in range(3))
    speech = " ".join(SPEECH)
    page = (
        f"<html><head><title>Talks</title></head><body><article><h1>Talks</h1><p>{speech}</p>"
        f"<div><h3>Background</h3><p>{SPEECH[0]}</p><ul>{links}</ul></div><p>{SPEECH[1]}</p></article></body></html>"
    )
    assert "Background" in extracted(page.encode(), "http://127.0.0.1/a/1").lines


def test_a_page_title_above_a_link_bar_is_no_orphan() -> None:
    speech = " ".join(SPEECH)
    page = (
        '<html><body><div class="top"><h1>Talks with the President of Kazakhstan</h1>'
        '<div><a href="/">Home</a> <a href="/news">News</a></div></div>'
        f"<article><p>{speech}</p></article></body></html>"
    )
    assert extracted(page.encode(), "http://127.0.0.1/a/1").title == "Talks with the President of Kazakhstan"


FMPRC = REAL / "fmprc_zh_2019" / "fmprc_web_zyxw_t1638430.html"
ADDRESS_SENTENCE = "双方还就中方在卢森堡的签证中心新地址交换了意见。"


def fmprc_page_with_footer_in_body() -> str:
    """The real fmprc.gov.cn page, its own footer moved to the body's end (as the newer /web/ template has it)."""
    page = FMPRC.read_text(encoding="utf-8")
    footer = re.search(r"<p>中华人民共和国外交部.*?</p>", page, re.S)
    assert footer  # the real footer of the page: copyright, address and postcode, telephone, ICP and police filings
    end = page.index("</div>", page.index('id="News_Body_Txt_A"'))
    return page[:end] + f"<p>{ADDRESS_SENTENCE}</p>" + footer.group(0) + page[end:]


def test_chinese_government_footer_lines_go_and_a_sentence_mentioning_an_address_stays() -> None:
    page = fmprc_page_with_footer_in_body()
    result = extracted(page.encode(), "https://www.fmprc.gov.cn/web/zyxw/t1638430.shtml")
    assert result.lines[-1] == ADDRESS_SENTENCE
    assert not any(word in result.text for word in ("版权所有", "邮编", "ICP", "公网安备"))


@pytest.mark.parametrize(
    ("line", "footer"),
    [
        ("中华人民共和国外交部 版权所有", True),
        ("地址：北京市朝阳区朝阳门南大街2号 邮编：100701", True),
        ("主办单位：中华人民共和国商务部 承办：商务部电子商务和信息化司", True),
        ("京ICP备06038296号 京公网安备110105002097", True),
        ("沪ICP证 12345678号", True),
        ("京公网安备 11010502030143号", True),
        ("电话：+86-10-65961114", True),
        ("版权所有：国家国际发展合作署", True),
        (ADDRESS_SENTENCE, False),
        ("新馆地址：北京市朝阳区亮马桥路，将于明年启用。", False),
        ("双方同意加强知识产权保护，尊重版权所有人的合法权益。", False),  # a sentence ends with 。
        ("双方签署了关于主办2024年博览会的协议", False),  # 主办 without a field's colon
        ("中方愿同卢方继续深化合作，共谋发展" * 10 + "版权所有", False),  # too long for a footer line
    ],
)
def test_chinese_footer_shape(line: str, footer: bool) -> None:
    assert chinese_footer(line) is footer


def _page(text: str, title: str = "Talks") -> Extracted:
    """An extraction holding the given text."""
    return Extracted(title=title, lines=tuple(text.splitlines()))


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("Sorry, the page you requested was not found.", True),
        ("Error 404", True),
        ("This article has been removed.", True),
        ("Страница не найдена", True),
        ("您访问的页面不存在", True),
        ("The fund, which was not founded until 2014, will finance the projects.", False),
        ("The two sides discussed the 4040 programme.", False),
        ("The Security Council adopted Resolution 2404 in February.", False),
        ("The agreement does not existentially change the relations.", False),
    ],
)
def test_soft_404_matches_words_as_words(text: str, missing: bool) -> None:
    assert looks_missing(_page(text)) is missing


@pytest.mark.parametrize(("length", "missing"), [(MAX_NOTICE_CHARS, True), (MAX_NOTICE_CHARS + 1, False)])
def test_a_long_article_is_never_a_missing_page(length: int, missing: bool) -> None:
    notice = "The page was not found."
    text = notice + " " + "x" * (length - len(notice) - 1)
    assert len(text) == length
    assert looks_missing(_page(text, title="Page not found")) is missing


def test_one_bad_byte_in_a_utf8_page_is_replaced_not_a_reason_to_guess_the_encoding() -> None:
    body = (KREMLIN / "54979.html").read_bytes()
    visit = "The\u00a0official visit to\u00a0".encode()  # the page's no-break spaces, on both sides of the bad byte
    broken = body.replace(visit, visit + b"\xff", 1)
    assert broken != body
    result = extracted(broken, NEWS + "54979")
    assert "President of Russia Vladimir Putin: Mr President Xi Jinping, ladies and gentlemen," in result.lines
    assert "The official visit to \ufffdRussia by President of the People’s Republic of China Xi Jinping" in result.text
    assert "ô" not in result.text and "Â" not in result.text


def test_a_page_mostly_invalid_in_its_declared_encoding_is_still_detected() -> None:
    text = "Владимир Путин провёл переговоры с Председателем Китайской Народной Республики Си Цзиньпином. " * 5
    body = f'<html><head><meta charset="utf-8"></head><body><p>{text}</p></body></html>'.encode("cp1251")
    decoded = decode_html(body, "text/html; charset=utf-8")
    assert "Владимир Путин провёл переговоры" in decoded and "\ufffd" not in decoded


@pytest.mark.parametrize(
    ("invalid", "length", "stray"),
    [(0, 100, True), (1, 1000, True), (1, 999, False), (8, 100_000, True), (9, 100_000, False), (50, 50_000, False)],
)
def test_stray_bytes_are_few_and_a_small_share(invalid: int, length: int, stray: bool) -> None:
    assert stray_bytes(invalid, length) is stray


@pytest.mark.parametrize(("site", "stem"), [(site, stem) for site, stems in demo.SITES.items() for stem in stems])
def test_language_is_detected_when_the_page_declares_none(site: str, stem: str) -> None:
    body = demo.article(site, stem)
    assert b"lang=" not in body
    result = extracted(body, f"http://127.0.0.1{demo.article_path(stem)}")
    assert result.language == ("zh" if stem.startswith("zh-") else "en")


def test_a_declared_language_or_the_sources_hint_comes_before_detection() -> None:
    body = demo.article("ministry", "2019-06-05")
    declared = body.replace(b"<html>", b'<html lang="fr">', 1)
    assert extracted(declared, "http://127.0.0.1/news/a.html").language == "fr"
    hinted = extract(body, "http://127.0.0.1/news/a.html", "text/html; charset=utf-8", language="ru")
    assert isinstance(hinted, Extracted) and hinted.language == "ru"


def test_language_is_told_from_the_first_paragraphs_with_numpy_on_one_thread() -> None:
    english = "The two presidents discussed trade, energy and transport. " * (SAMPLE_CHARS // 50)
    assert detect_language(english + "两国元首高度评价中俄建交70年来两国关系发展成就。" * 400) == "en"
    assert detect_language("2019-06-05 12:30") is None  # nothing to tell a language by
    # BLAS threads fighting the extraction workers for two cores made each detection 20-30 ms instead of under 1
    assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}


def test_a_crawl_archives_every_speaker_one_sentence_readouts_and_chinese_text_without_its_footer(
    tmp_path: Path, serve, readouts
) -> None:
    kremlin = serve(
        "127.0.0.15",
        {
            "/robots.txt": Reply(b"", content_type="text/plain"),
            "/news": Reply(b'<html><body><a href="/news/1">Talks</a> <a href="/news/2">FIFA</a></body></html>'),
            "/news/1": Reply(kremlin_page("54979.html", TRANSCRIPT).encode()),
            "/news/2": Reply(one_sentence_page().encode()),
        },
    )
    mfa = serve(
        "127.0.0.16",
        {
            "/robots.txt": Reply(b"", content_type="text/plain"),
            "/web/zyxw/": Reply('<html><body><a href="t1638430.shtml">杨洁篪</a></body></html>'.encode()),
            "/web/zyxw/t1638430.shtml": Reply(fmprc_page_with_footer_in_body().encode()),
        },
    )
    sources = write_sources(
        tmp_path / "s.toml",
        f"[source.kremlin]\nstart_urls = ['{kremlin.url('/news')}']\narticles = ['/news/\\d+$']\ndelay = 0\n"
        f"[source.mfa]\nstart_urls = ['{mfa.url('/web/zyxw/')}']\narticles = ['/t\\d+\\.shtml$']\ndelay = 0\n",
    )
    out = readouts("--sources", str(sources), "crawl", "--json")
    assert out.code == 0, out.err
    rows = {r["url"].rsplit("/", 1)[1]: r for r in readouts("export").jsonl()}
    assert set(rows) == {"1", "2", "t1638430.shtml"}
    lines = rows["1"]["text"].splitlines()
    labels = [line for line in lines if speaker_label(line)]
    assert labels == [
        "President of Russia Vladimir Putin: Friends,",
        "President of Turkey Recep Tayyip Erdogan (retranslated):",
        "Rostec State Corporation CEO Sergei Chemezov:",
        "Economic Development Minister Andrei Belousov: Thank you.",
        "President of Russia Vladimir Putin:",
        "President of Russia Vladimir Putin: Good luck to you all",
    ]
    assert rows["2"]["text"] == ONE_SENTENCE
    chinese = rows["t1638430.shtml"]
    assert chinese["language"] == "zh" and chinese["text"].splitlines()[-1] == ADDRESS_SENTENCE


def test_an_article_is_kept_as_published_and_hashed_in_its_normal_form() -> None:
    """Typographic quotes and dashes stay in the text, and the same readout typed plainly is the same document: the
    hash is of the normal form, whichever way the text was typed."""
    typed = ("Xi said \u201cthe two sides\u201d agreed \u2014 firmly.", "They met in Moscow.")
    plain = ('Xi said "the two sides" agreed - firmly.', "They met in Moscow.")
    fancy, simple = (article_text(Extracted("Talks", lines), frozenset()) for lines in (typed, plain))
    assert fancy is not None and simple is not None
    assert fancy.text == "\n".join(typed) and fancy.text != simple.text
    assert fancy.content_hash == simple.content_hash
