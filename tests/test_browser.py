"""The web UI in a real browser (Debian's Chromium driven by Playwright): search, open a result, its meeting, a diff."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.demo.web import EDIT
from tests.test_serve import Server, archive  # noqa: F401 (the demo archive fixture)

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MISSING = [
    *(["Playwright's Python package is not installed"] if importlib.util.find_spec("playwright") is None else []),
    *([] if Path(CHROMIUM).exists() else ["Debian's chromium is not installed (apt-get install chromium)"]),
]
if MISSING and os.environ.get("READOUTS_REQUIRE_BROWSER"):  # CI (.ci/run): the browser tests must run, never skip
    pytest.fail("; ".join(MISSING), pytrace=False)
if MISSING:
    pytest.skip("; ".join(MISSING), allow_module_level=True)
from playwright import sync_api  # noqa: E402


@pytest.fixture(scope="module")
def page(archive: Path) -> Iterator[object]:  # noqa: F811
    """A headless Chromium page and a running `readouts serve` on the demo archive."""
    server = Server(archive)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.base = server.base  # type: ignore[attr-defined]
        yield tab
        browser.close()
    server.stop()


def test_search_open_a_result_its_meeting_and_a_diff(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base + "/demo/readouts")
    page.fill("input[name=_search]", "Borovitskaya Tower")
    page.press("input[name=_search]", "Enter")
    page.wait_for_url("**_search=*")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() >= 1
    assert "Xi Jinping Holds Talks with President Vladimir Putin of Russia" in rows.first.inner_text()
    rows.first.locator("td.col-id a").click()  # open the result: its document
    page.wait_for_url("**/demo/documents/*")
    assert "On June 5, 2019 local time" in page.locator("body").inner_text()
    page.locator("a", has_text="meeting").first.click()  # its meeting
    page.wait_for_url("**/-/readouts/meeting/*")
    columns = page.locator("section.readouts-doc")
    assert columns.count() >= 3
    text = page.locator(".readouts-side").inner_text()
    assert "习近平同俄罗斯总统普京举行会谈" in text and "Xi Jinping Holds Talks" in text
    copies = page.locator("section.readouts-doc li", has_text="127.0.0.1")  # the ministry's copies
    edited = copies.filter(has_text="/news/2019/2019-06-05.html").first
    edited.locator("a", has_text="history").click()  # the edited page's history
    page.wait_for_url("**/-/readouts/history*")
    removed = page.locator(".readouts-diff p.removed").all_inner_texts()
    added = page.locator(".readouts-diff p.added").all_inner_texts()
    assert any(EDIT[0] in line for line in removed) and any(EDIT[1] in line for line in added)


def test_markup_in_a_stored_text_is_shown_as_text(page) -> None:  # type: ignore[no-untyped-def]
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(page.base + "/demo/readouts?_search=" + quote("onerror"))
    page.locator("table.rows-and-columns tbody tr td.col-id a").first.click()
    page.wait_for_url("**/demo/documents/*")
    page.locator("a", has_text="meeting").first.click()
    page.wait_for_url("**/-/readouts/meeting/*")
    assert "<script>alert(1)</script>" in page.locator(".readouts-side").inner_text()
    assert page.locator(".readouts-side img").count() == 0 and dialogs == []  # nothing ran
