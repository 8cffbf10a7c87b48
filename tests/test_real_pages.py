"""Real saved pages of bundled sources that public repositories hold: the extraction gives the article text."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.extraction.extract import Extracted, extract

XINHUA = Path(__file__).parent / "data" / "real" / "xinhua_zh_2019" / "c_1125327450.htm"
XINHUA_URL = "http://www.xinhuanet.com/world/2019-12/10/c_1125327450.htm"


def xinhua() -> Extracted:
    """Extract the saved Xinhua world-news page."""
    result = extract(XINHUA.read_bytes(), XINHUA_URL, "text/html; charset=utf-8")
    assert isinstance(result, Extracted), result
    return result


def test_real_xinhua_page_is_its_article_from_dateline_to_last_sentence() -> None:
    page = xinhua()
    assert page.published == "2019-12-10"
    assert page.lines[0].startswith("新华社巴黎12月9日电（记者唐霁）法国9日再次爆发全国跨行业大罢工")
    assert page.lines[-1] == (
        "法国总统马克龙此前提出对全国退休制度进行改革，目标是逐步将目前法国各行业的42种退休制度合并成一个统一方案。"
        "总理菲利普将于11日宣布退休制度改革的总体架构。"
    )
    assert len(page.lines) == 5
    for junk in ("纠错", "责任编辑", "版权所有", "新华网", "分享"):
        assert junk not in page.text


@pytest.mark.xfail(reason="the <title>'s site suffix '-新华网' stays in the title (issue 15: title)", strict=True)
def test_real_xinhua_title_has_no_site_suffix() -> None:
    assert xinhua().title == "法国全国大罢工再次严重影响交通"
