"""The template rules on their own: thresholds at their boundaries, a page's lines, which texts to clean again."""

from __future__ import annotations

import pytest

from crawler.extraction import boilerplate
from crawler.extraction.boilerplate import MIN_ARTICLE_PAGES, MIN_PAGES, MIN_SHARE, line_key, template_keys
from crawler.extraction.page_lines import page_lines

KEY = line_key("Download from Apple Store or Play Store.")


@pytest.mark.parametrize(
    ("seen", "pages", "template"),
    [
        (MIN_PAGES, MIN_PAGES, True),  # a site with exactly MIN_PAGES pages loses its footer
        (MIN_PAGES - 1, MIN_PAGES, False),
        (MIN_PAGES - 1, MIN_PAGES - 1, False),  # too few pages to tell a template from a coincidence
        (MIN_PAGES, 100, False),  # below the share on a large site
        (int(MIN_SHARE * 100), 100, True),  # exactly the share
        (int(MIN_SHARE * 100) - 1, 100, False),
        (int(MIN_SHARE * 101) + 1, 101, True),  # the share is a fraction: 20.2 needs 21
        (int(MIN_SHARE * 101), 101, False),
    ],
)
def test_a_line_is_template_from_min_pages_and_min_share(seen: int, pages: int, template: bool) -> None:
    assert (KEY in template_keys({KEY: seen}, pages)) is template


@pytest.mark.parametrize(
    ("in_articles", "template"),
    [
        (MIN_ARTICLE_PAGES, True),  # the demo's news site: two readouts and their listing carry the app line
        (MIN_ARTICLE_PAGES - 1, False),  # a one-sentence readout whose text two listing pages show as its lead
        (0, False),
    ],
)
def test_listing_pages_alone_make_no_line_template(in_articles: int, template: bool) -> None:
    seen = MIN_ARTICLE_PAGES + 1
    assert (KEY in template_keys({KEY: seen}, seen, {KEY: in_articles})) is template


@pytest.mark.parametrize(
    ("text", "edge"),
    [
        ("Download from Apple Store or Play Store.\nThe talks were held.", True),
        ("The talks were held.\ndownload  from apple store or play store.", True),  # case and spaces do not matter
        ("The talks were held.\nDownload from Apple Store or Play Store.\nThey agreed.", False),  # mid-text: kept
        ("The talks were held.", False),
        ("", False),
    ],
)
def test_a_stored_text_is_cleaned_again_only_when_a_template_line_is_at_its_edge(text: str, edge: bool) -> None:
    assert boilerplate.has_template_edge(text, frozenset({KEY})) is edge


@pytest.mark.parametrize(
    ("html", "lines"),
    [
        ("<p>One <b>line</b></p><p>Two</p>", ("One line", "Two")),
        ("<div><p>Inner</p>tail text</div>", ("Inner",)),  # only innermost blocks: no duplicate of the outer text
        ("<td>Home &gt; News</td><li>Suggest to a Friend:</li>", ("Home > News", "Suggest to a Friend:")),
        ("<p>Address: 2 Street<br>Tel: 123</p>", ("Address: 2 Street", "Tel: 123")),
        ("<p>Text</p><script>var x = 1;</script><style>p {}</style>", ("Text",)),
        ("<div>   </div><p>  spaced   out  </p>", ("spaced out",)),
    ],
)
def test_page_lines_are_the_innermost_blocks_split_at_line_breaks(html: str, lines: tuple[str, ...]) -> None:
    assert page_lines(f"<html><head><title>T</title></head><body>{html}</body></html>".encode()) == lines


def test_page_lines_of_what_is_no_html_page_are_none() -> None:
    assert page_lines(b"") == ()
    assert page_lines(b"%PDF-1.7\n" + b"\0" * 200, "application/pdf") == ()
