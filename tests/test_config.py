"""The sources-file contract: valid files load, bad ones are refused naming the source and key (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.sources import load_sources, parse_interval, parse_sources
from crawler.errors import ConfigError
from tests.conftest import write_sources

BASE = """
[source.mfa]
start_urls = ["https://www.fmprc.gov.cn/eng/xw/zyxw/"]
articles = ['/t\\d{8}_\\d+\\.html$']
"""
GOOD = (
    BASE
    + """follow = ['index_\\d+\\.html$']
delay = 0
every = "6h"
language = "en"
"""
)


def test_good_file_loads_with_defaults() -> None:
    source = parse_sources(GOOD)["mfa"]
    assert source.allowed_domains == ("www.fmprc.gov.cn",)
    assert source.delay == 0.0 and source.concurrency == 1 and source.max_pages == 500
    assert source.every_seconds == 6 * 3600
    assert source.is_article("https://www.fmprc.gov.cn/eng/xw/zyxw/202401/t20240101_1.html")
    assert not source.is_article("https://www.fmprc.gov.cn/eng/xw/zyxw/index_1.html")


def test_schedule_and_bounds_keys_are_read() -> None:
    text = BASE + "cron = '0 */6 * * *'\ntimeout = '20m'\nstale_after = '3d'\npage_timeout = '5s'\n"
    source = parse_sources(text + "extract_timeout = '2s'\nmax_depth = 7\n")["mfa"]
    assert source.cron == "0 */6 * * *" and source.timeout_seconds == 1200 and source.stale_after_seconds == 3 * 86400
    assert source.page_timeout_seconds == 5 and source.extract_timeout_seconds == 2 and source.max_depth == 7


def test_bundled_file_is_valid_and_has_the_required_sources() -> None:
    sources = load_sources()
    urls = [u for s in sources.values() for u in s.start_urls]
    assert any("www.fmprc.gov.cn/eng/xw/zyxw/" in u for u in urls)
    assert any("en.kremlin.ru" in u for u in urls)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("colour = 'red'", "colour"),
        ("follow = ['(unclosed']", "follow"),
        ("every = 'sometimes'", "every"),
        ("every = '0h'", "every"),
        ("delay = -1", "delay"),
        ("concurrency = 0", "concurrency"),
        ("max_pages = 'many'", "max_pages"),
        ("feeds = ['ftp://example.org/feed']", "feeds"),
        ("sitemaps = ['not a url']", "sitemaps"),
        ("language = 'English!'", "language"),
        ("cron = 'every day'", "cron"),
        ("cron = '0 */6 * * *'\nevery = '6h'", "cron"),
        ("timeout = 'forever'", "timeout"),
        ("stale_after = 14", "stale_after"),
        ("page_timeout = '0s'", "page_timeout"),
        ("extract_timeout = 'slow'", "extract_timeout"),
        ("max_depth = -1", "max_depth"),
    ],
)
def test_bad_key_is_refused_naming_source_and_key(extra: str, key: str) -> None:
    text = BASE + extra + "\n"
    with pytest.raises(ConfigError) as info:
        parse_sources(text)
    assert info.value.source == "mfa" and info.value.key == key
    assert "'mfa'" in str(info.value) and repr(key) in str(info.value)


def test_bad_start_url_and_missing_articles() -> None:
    with pytest.raises(ConfigError, match="start_urls"):
        parse_sources("[source.x]\nstart_urls = ['javascript:alert(1)']\narticles = ['a']\n")
    with pytest.raises(ConfigError, match="articles"):
        parse_sources("[source.x]\nstart_urls = ['http://a.example/']\n")


def test_intervals() -> None:
    assert parse_interval("90s") == 90 and parse_interval("15m") == 900 and parse_interval("1d") == 86400
    with pytest.raises(ValueError):
        parse_interval("6 hours")


@pytest.mark.parametrize("command", [["crawl"], ["sources"]])
def test_cli_refuses_bad_sources_file_with_exit_2(tmp_path: Path, readouts, serve, command: list[str]) -> None:
    site = serve("127.0.0.1", {})
    bad = write_sources(tmp_path / "bad.toml", GOOD.replace("https://www.fmprc.gov.cn", site.base) + "\nspeed = 3\n")
    result = readouts("--sources", str(bad), *command)
    assert result.code == 2
    assert "source 'mfa'" in result.err and "key 'speed'" in result.err
    assert site.hits == []  # nothing was crawled
    assert not (tmp_path / "archive.db").exists()


def test_cli_unknown_source_name_exits_2(tmp_path: Path, readouts) -> None:
    good = write_sources(tmp_path / "good.toml", GOOD)
    result = readouts("--sources", str(good), "crawl", "nope")
    assert result.code == 2 and "'nope'" in result.err


def test_an_interval_is_parsed_once_and_shown_as_written() -> None:
    import json

    from crawler.config.intervals import Interval

    every = Interval("6h")
    assert every.seconds == 21600 and every == "6h" and json.dumps({"every": every}) == '{"every": "6h"}'
    with pytest.raises(ValueError, match="not an interval"):
        Interval("sometimes")
    source = parse_sources("[source.s]\nstart_urls = ['http://a.example/']\narticles = ['x']\nevery = '90m'\n")["s"]
    assert isinstance(source.every, Interval) and source.every_seconds == 5400
    assert (source.timeout_seconds, source.stale_after_seconds, source.recheck_every_seconds) == (
        3600,
        14 * 86400,
        30 * 86400,
    )
    assert (source.page_timeout_seconds, source.extract_timeout_seconds) == (60, 30)


def test_each_default_is_the_one_every_layer_uses() -> None:
    import inspect

    from crawler.config import intervals
    from crawler.extraction.pool import ExtractorPool
    from spiders.settings import BASE_SETTINGS
    from storage import recheck

    assert intervals.DEFAULT_RECHECK_EVERY.seconds == recheck.DEFAULT_RECHECK_EVERY  # storage imports no config
    assert BASE_SETTINGS["DOWNLOAD_TIMEOUT"] == intervals.DEFAULT_PAGE_TIMEOUT.seconds
    timeout = inspect.signature(ExtractorPool).parameters["timeout"].default
    assert timeout == intervals.DEFAULT_EXTRACT_TIMEOUT.seconds


def test_notify_public_url_is_read_and_checked() -> None:
    good = parse_sources(
        BASE + '\n[notify]\nurls = ["json://127.0.0.1:9/hook"]\npublic_url = "https://r.example.org/"\n'
    )
    assert good["mfa"].public_url == "https://r.example.org/"
    assert parse_sources(BASE)["mfa"].public_url is None
    for bad in ('"r.example.org"', '"ftp://r.example.org/"', "3"):
        with pytest.raises(ConfigError) as refused:
            parse_sources(BASE + f"\n[notify]\npublic_url = {bad}\n")
        assert "'notify' key 'public_url'" in str(refused.value)
