"""Never worse than plain trafilatura: the fallback rule, parsing as trafilatura parses, real benchmark pages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crawler.extraction.extract import Extracted, continues, extract, keeps_enough, least_cleaned, mostly_links
from crawler.extraction.shapes import leads_nowhere

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def benchmark_page(dataset: str, key: str) -> tuple[str, list[str]]:
    """Return what readouts extracts from a benchmark page, and the page's ground-truth lines."""
    body = gzip.decompress((BENCHMARKS / dataset / "html" / f"{key}.html.gz").read_bytes())
    truth = json.loads((BENCHMARKS / dataset / "ground-truth.json").read_text())[key]["articleBody"]
    result = extract(body, f"https://example.org/{key}.html", "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    return result.text, truth.splitlines()


@pytest.mark.parametrize(
    ("kept", "plain", "enough"),
    [(50, 100, True), (49, 100, False), (51, 100, True), (100, 100, True), (0, 1, False), (0, 0, True), (5, 9, True)],
)
def test_cleaning_that_keeps_less_than_half_of_plain_extraction_is_not_enough(
    kept: int, plain: int, enough: bool
) -> None:
    assert keeps_enough(kept, plain) is enough


@pytest.mark.parametrize(
    ("links", "page", "listing"),
    [(80, 100, True), (79, 100, False), (100, 100, True), (0, 100, False), (52, 100, False)],
)
def test_a_page_of_four_fifths_link_text_is_a_listing(links: int, page: int, listing: bool) -> None:
    assert mostly_links(links, page) is listing


def test_the_most_cleaned_candidate_that_keeps_enough_is_chosen() -> None:
    cleaned, shaped, raw = ("a" * 40,), ("b" * 60,), ("c" * 100,)
    assert least_cleaned((cleaned, shaped, raw), 80) == cleaned  # 40 of 80: exactly half is enough
    assert least_cleaned((cleaned, shaped, raw), 100) == shaped  # 40 of 100 is not, 60 is
    assert least_cleaned(((), (), raw), 300) == raw  # none keeps half: the least cleaned one


def test_a_comment_after_a_link_does_not_cut_its_paragraph() -> None:
    para = "The ministers discussed trade, energy and the situation in the region at some length. " * 3
    page = (
        "<!DOCTYPE html><html><head><title>Talks</title></head><body><nav><a href='/'>Home</a></nav><article>"
        f"<h1>Talks</h1><p>{para}</p><p>They agreed, as <a href='/a'>the joint statement</a><!-- ad slot --> says, "
        f"to meet again next year in Beijing and to sign the agreement then.</p><p>{para}</p></article></body></html>"
    )
    result = extract(page.encode(), "https://example.org/a.html", "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    assert "says, to meet again next year in Beijing and to sign the agreement then." in result.text


def test_a_body_libxml2_would_lose_after_the_doctype_is_extracted() -> None:
    # lxml's own parse of this page finds no body; parsed as trafilatura parses, or else by the fallback, it is whole
    text, truth = benchmark_page("wcxb-articles", "5672")
    assert truth[2][:60] in text and truth[-1][:60] in text


@pytest.mark.parametrize(
    ("dataset", "key", "why"),
    [
        ("readability-test-pages", "engadget", "favor_precision kept 595 of 10,800 characters"),
        ("readability-test-pages", "salon-1", "dropping link-dense blocks kept 2,300 of 13,700"),
        ("wcxb-articles", "4499", "favor_precision kept 958 of 6,100"),
    ],
)
def test_cleaning_that_removes_most_of_an_article_falls_back_to_plain_extraction(
    dataset: str, key: str, why: str
) -> None:
    text, truth = benchmark_page(dataset, key)
    middle = truth[len(truth) // 2]
    assert middle[:60] in text, why
    assert truth[len(truth) * 3 // 4][:60] in text, why
    assert len(text) > 0.8 * sum(map(len, truth)), why


@pytest.mark.parametrize(
    ("href", "nowhere"),
    [
        (None, True),  # <a name="top">: an anchor, not a link
        ("", True),
        ("#", True),
        (" javascript:void(0) ", True),
        ("JavaScript:edit(20);", True),
        ("#section-2", False),  # a link to a part of the page
        ("/web/zyxw/t1638430.shtml", False),
        ("https://example.org/javascript:", False),
    ],
)
def test_an_anchor_without_a_destination_leads_nowhere(href: str | None, nowhere: bool) -> None:
    assert leads_nowhere(href) is nowhere


DOCUMENTS = [
    "Agreement on cooperation in energy",
    "Memorandum on investment cooperation",
    "Protocol on customs procedures",
    "Programme of cultural exchanges",
]


@pytest.mark.parametrize("wrapper", ["<a name='top'>", "<a href='javascript:void(0)' onclick='zoom(this)'>"])
def test_a_page_inside_an_anchor_that_leads_nowhere_is_no_listing(wrapper: str) -> None:
    # an unclosed "back to top" anchor (or a click handler) holds the whole body: its text is no link text, so a page
    # of short lines the cleaning trims still falls back to plain extraction instead of being refused as a listing
    menu = "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(8))
    items = "".join(f"<p>{line}</p>" for line in DOCUMENTS)
    page = (
        f"<html><head><title>Documents signed</title></head><body>{wrapper}<div><ul>{menu}</ul></div>"
        f"<div class='text'><h1>Documents signed</h1>{items}</div><div><a href='/c'>Contacts</a></div></body></html>"
    )
    result = extract(page.encode(), "https://example.org/a.html", "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    assert result.lines == tuple(DOCUMENTS)


@pytest.mark.parametrize(
    ("line", "following", "goes_on"),
    [
        ("The two sides", ["agreed to meet again next year."], True),
        ("Лидеры двух стран", ["обсудили ситуацию в регионе."], True),
        ("Home News Events", ["Talks with the President of France"], False),  # a menu above the title
        ("Updated: 2019-06-05 21:14", ["the talks began at noon."], False),  # ends like no sentence, but a dateline
        ("He said:", ["we agree."], False),  # the line ends its own clause
        ("中文 Français Contact Us", ["fmprc.gov.cn| Updated: 2022-02-05"], False),  # a site's name, no word
        ("The two sides", [], False),
    ],
)
def test_a_line_goes_on_when_the_next_starts_with_a_lowercase_word(
    line: str, following: list[str], goes_on: bool
) -> None:
    assert continues(line, following) is goes_on


def test_a_statement_broken_by_hand_keeps_its_first_lines() -> None:
    # statements typed with hard line breaks (<br>) split a sentence; its short first lines are no menu
    statement = (
        "The Ministers<br>discussed<br>bilateral relations and the preparations for the summit in Beijing,<br>"
        "and agreed to keep in close contact on the situation in the region.<br>"
        "Both sides stressed the importance of the agreements reached in June."
    )
    page = (
        "<html><head><title>Press statement</title></head><body><ul><li><a href='/'>Home</a></li></ul>"
        f"<article><h1>Press statement</h1><div>{statement}</div></article></body></html>"
    )
    result = extract(page.encode(), "https://example.org/a.html", "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    assert result.lines[:2] == ("The Ministers", "discussed")


def test_a_toolbar_of_script_links_inside_the_article_stays_link_text() -> None:
    # only an anchor that wraps blocks is unwrapped: controls (print, font size; fmprc.gov.cn's 大 中 小 打印本页)
    # lead nowhere too, yet are links a reader clicks, and a toolbar of them between paragraphs is no text
    para = "The Foreign Minister held talks with his counterpart on trade, energy and the situation in the region. "
    tools = "".join(
        f"<a href='javascript:{js}'>{name}</a> "
        for js, name in [("window.print()", "Print"), ("doZoom(16)", "Larger"), ("doZoom(14)", "Smaller")]
    )
    page = (
        f"<html><head><title>Talks</title></head><body><article><h1>Talks</h1><p>{para * 2}</p>"
        f"<div class='tools'>{tools}</div><p>{para * 3}</p><p>{para}</p></article></body></html>"
    )
    result = extract(page.encode(), "https://example.org/a.html", "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    assert len(result.lines) == 3 and not any("Print" in line for line in result.lines)
