"""Extraction: seed readouts in four site templates, real ministry and Kremlin pages, pages that are no article."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawler.extraction import boilerplate
from crawler.extraction.extract import Extracted, Failure, clean_lines, extract
from crawler.extraction.fingerprint import content_hash, normalise
from tests.fixtureweb import sites
from tests.fixtureweb.seeds import all_seeds, seed

REAL = Path(__file__).parent / "data" / "real"
SITES = ["ministry", "embassy", "portal", "agency"]
SEED_IDS = [s.id for s in all_seeds()]


def extracted(body: bytes, url: str, content_type: str | None = "text/html; charset=utf-8") -> Extracted:
    """Extract a page that must yield an article."""
    result = extract(body, url, content_type)
    assert isinstance(result, Extracted), result
    return result


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_seed_in_every_template_is_its_body_without_boilerplate(site: str, seed_id: str) -> None:
    article = sites.seed_article(site, seed_id)
    result = extracted(sites.render_article(site, article, index=int(seed_id)), "http://127.0.0.9" + article.path)
    assert result.lines == seed(seed_id).body
    for junk in seed(seed_id).boilerplate:
        assert " ".join(junk.split()) not in result.lines
    assert result.title == seed(seed_id).title
    assert result.published == article.date


def test_one_readout_in_four_templates_has_one_hash_and_five_readouts_five() -> None:
    hashes: dict[str, set[str]] = {}
    for seed_id in SEED_IDS:
        for index, site in enumerate(SITES):
            article = sites.seed_article(site, seed_id)
            text = extracted(sites.render_article(site, article, index), "http://127.0.0.9" + article.path).text
            hashes.setdefault(seed_id, set()).add(content_hash(text))
    assert all(len(found) == 1 for found in hashes.values()), hashes
    assert len({h for found in hashes.values() for h in found}) == 5
    # and the titles alone would not have told them apart
    assert len({seed(s).title for s in SEED_IDS}) < 5


def test_normalisation_ignores_typography_not_words() -> None:
    a = "He said: “Peace”  —  now.\n\n  Second\u00a0line "
    assert normalise(a) == 'He said: "Peace" - now.\nSecond line'
    assert content_hash(a) == content_hash('He said: "Peace" - now.\nSecond line')
    assert content_hash(a) != content_hash('He said: "War" - now.\nSecond line')
    assert normalise("ＡＢＣ１２３") == "ABC123"  # NFKC folds full-width forms


def test_template_lines_are_learned_per_site_and_stripped_only_at_the_edges() -> None:
    pages = [["Home News", f"Story {n} text.", "Shared middle line.", f"More {n}.", "Share this"] for n in range(5)]
    counts: dict[str, int] = {}
    for page in pages:
        for key in boilerplate.page_keys(page):
            counts[key] = counts.get(key, 0) + 1
    template = boilerplate.template_keys(counts, len(pages))
    assert boilerplate.line_key("Home News") in template
    assert boilerplate.strip_template(pages[0], template) == ("Story 0 text.", "Shared middle line.", "More 0.")
    # two pages are not enough evidence for anything to be template
    assert boilerplate.template_keys({k: 2 for k in counts}, 2) == frozenset()


def test_clean_lines_drops_file_names_titles_and_edge_junk_keeps_sentences() -> None:
    raw = [
        "Title Here",
        "Home > News",
        "IMG_0042.JPG",
        "A real first sentence of the article.",
        "Print | Share",
        "Copyright © 2024 Some Ministry",
        "京ICP备06052939号",
    ]
    assert clean_lines(raw, "Title here") == ("A real first sentence of the article.",)


def test_real_kremlin_readout() -> None:
    result = extracted(
        (REAL / "kremlin_en_2020" / "54971.html").read_bytes(), "http://en.kremlin.ru/events/president/news/54971"
    )
    assert result.title == "Russian-Chinese talks"
    assert result.published == "2017-07-04"
    assert result.language == "en"
    assert result.lines[0].startswith("Vladimir Putin and President of China Xi Jinping")  # the marked-up lead
    assert result.lines[1].startswith("During the restricted format talks")
    assert result.place == "The Kremlin, Moscow"
    assert not any(line.startswith(("Topics", "Persons", "Geography", "Publication status")) for line in result.lines)
    print_version = extracted((REAL / "kremlin_en_2020" / "54971_print.html").read_bytes(), "http://x/54971/print")
    assert content_hash(print_version.text) == content_hash(result.text)


def test_real_fmprc_chinese_readout() -> None:
    page = REAL / "fmprc_zh_2019" / "fmprc_web_zyxw_t1638430.html"
    result = extracted(page.read_bytes(), "https://www.fmprc.gov.cn/web/zyxw/t1638430.shtml")
    assert result.title == "杨洁篪会见卢森堡外交大臣阿瑟伯恩"
    assert result.published == "2019-02-16"
    assert result.lines[0].startswith("当地时间2019年2月15日")
    assert all(len(line) > 20 for line in result.lines)  # no menus, share bars or footers


def test_kremlin_listing_pages_are_not_articles() -> None:
    for name in ("page_2.html", "by-date_04.07.2017.html"):
        assert isinstance(extract((REAL / "kremlin_en_2020" / name).read_bytes(), "http://x/" + name), Failure)


def test_gbk_page_declared_utf8_is_decoded_from_its_bytes() -> None:
    text = "当地时间2019年2月15日，杨洁篪在德国慕尼黑出席第55届慕尼黑安全会议期间会见卢森堡外交大臣阿瑟伯恩。" * 3
    head = '<head><meta charset="utf-8"><title>会见</title></head>'
    html = f"<html>{head}<body><div><p>{text}</p><p>{text}</p></div></body></html>"
    result = extracted(html.encode("gbk"), "http://x/t1.html", "text/html; charset=utf-8")
    assert "杨洁篪" in result.text and "\ufffd" not in result.text


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj", "text/html", "not-html"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "text/html", "not-html"),
        (b"", "text/html", "empty"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "text/html", "empty"),
        (
            b"<html><body>" + b"<div>" * 300 + b"<p>deep text here.</p>" + b"</div>" * 300 + b"</body></html>",
            None,
            "too-deep",
        ),
        (gzip.compress(b"<html>" * 100), "text/html", "not-html"),
    ],
    ids=["pdf", "png", "empty", "menu-only", "too-deep", "gzip-bytes"],
)
def test_pages_that_are_no_article_fail_with_a_reason(body: bytes, content_type: str | None, reason: str) -> None:
    result = extract(body, "http://x/page.html", content_type)
    assert isinstance(result, Failure) and result.reason.startswith(reason), result


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.fmprc.gov.cn/eng/xw/zyxw/202302/t20230221_11028748.html", "2023-02-21"),
        ("http://en.cidca.gov.cn/2022-02/05/c_724747.htm", "2022-02-05"),
        ("https://www.chinadaily.com.cn/a/202303/22/WS641a3b2ba31057c47ebb5d8e.html", "2023-03-22"),
        ("https://example.org/news/item", None),
        ("https://example.org/t20231399_1.html", None),  # not a date
    ],
)
def test_published_date_from_the_url_when_the_page_has_none(url: str, expected: str | None) -> None:
    para = "<p>" + "A sentence long enough to count as article text in this test page. " * 4 + "</p>"
    result = extracted(f"<html><body><article>{para}{para}</article></body></html>".encode(), url)
    assert result.published == expected


def test_a_title_repeated_below_a_menu_line_is_peeled_off_with_it() -> None:
    title = "President Xi Jinping Holds Talks with Russian President Vladimir Putin"
    first = "On the afternoon of February 4, President Xi Jinping held talks with President Vladimir Putin."
    raw = [title, "中文 Français Contact Us", title, "fmprc.gov.cn| Updated: 2022-02-05", first, "They agreed."]
    assert clean_lines(raw, title) == (first, "They agreed.")


def test_a_date_given_only_in_the_text_is_found_there() -> None:
    body = "".join(f"<p>The two ministers discussed trade, energy and culture at length ({n}).</p>" for n in range(6))
    page = f"<html><head><title>Talks</title></head><body><h1>Talks</h1><p>Moscow, 21 March 2023</p>{body}</body>"
    found = extract(f"{page}</html>".encode(), "http://127.0.0.1/a/talks.html", "text/html; charset=utf-8")
    assert isinstance(found, Extracted) and found.published == "2023-03-21"
