"""The sources-file contract: load and validate TOML source entries into `Source` objects."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.config.intervals import (
    DEFAULT_EXTRACT_TIMEOUT,
    DEFAULT_PAGE_TIMEOUT,
    DEFAULT_RECHECK_EVERY,
    DEFAULT_STALE_AFTER,
    DEFAULT_TIMEOUT,
    Interval,
    parse_interval,
)
from crawler.errors import ConfigError

__all__ = ["Interval", "Source", "default_sources_path", "load_sources", "parse_interval", "parse_sources", "select"]

BUNDLED_SOURCES = "sources.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Source:
    """One configured site section to crawl: where to start, which links to follow and archive, how politely."""

    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    follow: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    max_pages: int = 500
    delay: float = 1.0
    concurrency: int = 1
    language: str | None = None
    every: Interval | None = None
    cron: str | None = None  # a crontab line ("0 */6 * * *"), instead of `every`
    timeout: Interval = DEFAULT_TIMEOUT
    stale_after: Interval = DEFAULT_STALE_AFTER
    recheck_every: Interval = DEFAULT_RECHECK_EVERY
    gone_urls: tuple[str, ...] = ()  # regexes of URLs a site sends for deleted pages (redirect target or final URL)
    notify: tuple[str, ...] = ()  # Apprise URLs: this source's own, then the file's global [notify] urls
    public_url: str | None = None  # [notify] public_url: where `readouts serve` is reachable, for links in webhooks
    page_timeout: Interval = DEFAULT_PAGE_TIMEOUT  # one download's deadline (a slow drip or endless body ends here)
    extract_timeout: Interval = DEFAULT_EXTRACT_TIMEOUT  # wall-clock bound on extracting one page (in a worker)
    max_depth: int = 100  # links followed from a start URL before a chain is cut (0: no bound); traps end here

    @property
    def every_seconds(self) -> float | None:
        """Return the schedule interval in seconds (None when not scheduled by `every`)."""
        return self.every.seconds if self.every else None

    @property
    def timeout_seconds(self) -> float:
        """Return the scheduled crawl's time bound in seconds."""
        return self.timeout.seconds

    @property
    def stale_after_seconds(self) -> float:
        """Return the staleness alert's threshold in seconds."""
        return self.stale_after.seconds

    @property
    def recheck_every_seconds(self) -> float:
        """Return the re-check interval past the ladder in seconds."""
        return self.recheck_every.seconds

    @property
    def page_timeout_seconds(self) -> float:
        """Return one download's deadline in seconds."""
        return self.page_timeout.seconds

    @property
    def extract_timeout_seconds(self) -> float:
        """Return the extraction bound of one page in seconds."""
        return self.extract_timeout.seconds

    def is_article(self, url: str) -> bool:
        """Return True when the URL matches one of the source's article patterns."""
        return any(re.search(p, url) for p in self.articles)

    def is_gone_page(self, url: str) -> bool:
        """Return True when the URL is one the site uses for deleted pages (a "system" page served with 200)."""
        return any(re.search(p, url) for p in self.gone_urls)

    def is_followed(self, url: str) -> bool:
        """Return True when the URL matches one of the source's listing/pagination patterns."""
        return any(re.search(p, url) for p in self.follow)


def _check_url(name: str, key: str, url: object) -> str:
    """Return the URL when it is an absolute http(s) URL, else raise ConfigError."""
    if not isinstance(url, str):
        raise ConfigError(name, key, f"expected a URL string, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, key, f"{url!r} is not an absolute http(s) URL")
    return url


def _str_list(name: str, key: str, value: object) -> tuple[str, ...]:
    """Return the value as a tuple of strings, else raise ConfigError."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(name, key, "expected a list of strings")
    return tuple(value)


def _regexes(name: str, key: str, value: object) -> tuple[str, ...]:
    """Return the value as a tuple of compilable regexes, else raise ConfigError."""
    patterns = _str_list(name, key, value)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(name, key, f"bad regex {pattern!r}: {exc}") from None
    return patterns


def _number(name: str, key: str, value: object, kind: type, minimum: float) -> Any:
    """Return the value as `kind` when it is a number >= minimum, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ConfigError(name, key, f"expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    if value < minimum:
        raise ConfigError(name, key, f"must be at least {minimum}, got {value!r}")
    return kind(value)


def _interval(name: str, key: str, value: object) -> Interval:
    """Return the interval, else raise ConfigError."""
    try:
        return Interval(value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(name, key, str(exc)) from None


def _source(name: str, entry: object) -> Source:
    """Validate one `[source.NAME]` table into a Source."""
    if not _NAME.match(name):
        raise ConfigError(name, "name", "source names use letters, digits, '.', '_' and '-'")
    if not isinstance(entry, dict):
        raise ConfigError(name, "", "expected a table of keys")
    known = {f for f in Source.__dataclass_fields__ if f != "name"}
    for key in entry:
        if key not in known:
            raise ConfigError(name, key, f"unknown key (known keys: {', '.join(sorted(known))})")
    kwargs: dict[str, Any] = {}
    for key in ("start_urls", "feeds", "sitemaps"):
        if key in entry:
            kwargs[key] = tuple(_check_url(name, key, u) for u in _str_list(name, key, entry[key]))
    if not (kwargs.get("start_urls") or kwargs.get("feeds") or kwargs.get("sitemaps")):
        raise ConfigError(name, "start_urls", "give at least one of start_urls, feeds or sitemaps")
    for key in ("follow", "articles", "gone_urls"):
        if key in entry:
            kwargs[key] = _regexes(name, key, entry[key])
    if not kwargs.get("articles"):
        raise ConfigError(name, "articles", "give at least one regex for article URLs")
    if "allowed_domains" in entry:
        domains = _str_list(name, "allowed_domains", entry["allowed_domains"])
        for domain in domains:
            if not domain or "/" in domain or ":" in domain.strip("[]"):
                raise ConfigError(name, "allowed_domains", f"{domain!r} is not a host name")
        kwargs["allowed_domains"] = domains
    else:
        urls = (*kwargs.get("start_urls", ()), *kwargs.get("feeds", ()), *kwargs.get("sitemaps", ()))
        kwargs["allowed_domains"] = tuple(dict.fromkeys(urlsplit(u).hostname or "" for u in urls))
    if "max_pages" in entry:
        kwargs["max_pages"] = _number(name, "max_pages", entry["max_pages"], int, 1)
    if "delay" in entry:
        kwargs["delay"] = _number(name, "delay", entry["delay"], float, 0)
    if "concurrency" in entry:
        kwargs["concurrency"] = _number(name, "concurrency", entry["concurrency"], int, 1)
    if "language" in entry:
        language = entry["language"]
        if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]+)*", language):
            raise ConfigError(name, "language", f"expected a language code like 'en', got {entry['language']!r}")
        kwargs["language"] = entry["language"]
    if "max_depth" in entry:
        kwargs["max_depth"] = _number(name, "max_depth", entry["max_depth"], int, 0)
    for key in ("every", "recheck_every", "timeout", "stale_after", "page_timeout", "extract_timeout"):
        if key in entry:
            kwargs[key] = _interval(name, key, entry[key])
    if "cron" in entry:
        if "every" in entry:
            raise ConfigError(name, "cron", "give either every or cron, not both")
        kwargs["cron"] = _cron(name, entry["cron"])
    if "notify" in entry:
        kwargs["notify"] = _notify_urls(name, "notify", entry["notify"])
    return Source(name=name, **kwargs)


def _cron(name: str, value: object) -> str:
    """Return a crontab line that APScheduler accepts, else raise ConfigError."""
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise ConfigError(name, "cron", f"expected a crontab line like '0 */6 * * *', got {value!r}")
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(name, "cron", f"{value!r} is not a crontab line: {exc}") from None
    return value


def _notify_urls(name: str, key: str, value: object) -> tuple[str, ...]:
    """Return a list of Apprise URLs, refusing any that Apprise does not understand."""
    from crawler.monitor.notify import valid_url  # Apprise loads its plugins on import: only when notifications are set

    urls = _str_list(name, key, value)
    for url in urls:
        if not valid_url(url):
            raise ConfigError(name, key, f"{url!r} is not a notification URL Apprise understands")
    return urls


def _family(family: str, entry: object) -> dict[str, dict[str, Any]]:
    """Expand a [family.NAME] table (one definition, `{host}` in its URLs, a list of `hosts`) into source entries."""
    if not isinstance(entry, dict):
        raise ConfigError(family, "", "expected a table of keys")
    hosts = _str_list(family, "hosts", entry.get("hosts"))
    if not hosts:
        raise ConfigError(family, "hosts", "give at least one host")
    expanded: dict[str, dict[str, Any]] = {}
    for host in hosts:
        if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", host):
            raise ConfigError(family, "hosts", f"{host!r} is not a host name")
        labels = [label for label in host.split(":")[0].split(".") if label not in ("www", "eng", "en")]
        name = f"{family}-{labels[0] if labels else host}"
        if name in expanded:
            name = f"{family}-{host.split(':')[0]}"
        expanded[name] = {key: _substitute(value, host) for key, value in entry.items() if key != "hosts"}
    return expanded


def _substitute(value: Any, host: str) -> Any:
    """Put the host into `{host}` in a string or a list of strings."""
    if isinstance(value, str):
        return value.replace("{host}", host)
    if isinstance(value, list):
        return [_substitute(v, host) for v in value]
    return value


def _global_notify(entry: object) -> tuple[tuple[str, ...], str | None]:
    """Validate the top-level [notify] table and return its URLs and the public URL of `readouts serve`."""
    if not isinstance(entry, dict):
        raise ConfigError("", "notify", "expected a table: [notify] urls = [...]")
    for key in entry:
        if key not in ("urls", "public_url"):
            raise ConfigError("notify", key, "unknown key (known keys: urls, public_url)")
    public_url = entry.get("public_url")
    if public_url is not None:
        parts = urlsplit(public_url) if isinstance(public_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("notify", "public_url", f"expected an http(s) URL like 'https://host/': {public_url!r}")
    return _notify_urls("notify", "urls", entry.get("urls", [])), public_url


def valid_redis_url(value: object) -> str | None:
    """Return what is wrong with a Redis URL (redis://, rediss:// or unix://, with a host for the TCP ones), or None."""
    if not isinstance(value, str):
        return "expected a string such as 'redis://host:6379/0'"
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return f"{value!r} is not a Redis URL (redis://host:6379/0, rediss://… or unix:///path)"
    if parts.scheme != "unix" and not parts.hostname:
        return f"{value!r} names no host"
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        return f"{value!r} has a bad port"
    return None


def cluster_redis(entry: object) -> str | None:
    """Validate the top-level [cluster] table and return its Redis URL (None: no cluster)."""
    if not isinstance(entry, dict):
        raise ConfigError("", "cluster", 'expected a table: [cluster] redis = "redis://host:6379/0"')
    for key in entry:
        if key != "redis":
            raise ConfigError("cluster", key, "unknown key (known keys: redis)")
    if "redis" not in entry:
        return None
    problem = valid_redis_url(entry["redis"])
    if problem:
        raise ConfigError("cluster", "redis", problem)
    return str(entry["redis"])


def load_cluster_redis(path: str | Path | None = None) -> str | None:
    """Return the sources file's [cluster] redis URL, or None (the file was validated by load_sources)."""
    path = Path(path or default_sources_path())
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return cluster_redis(data["cluster"]) if "cluster" in data else None


def parse_sources(text: str, origin: str = "<sources>") -> dict[str, Source]:
    """Parse and validate the text of a sources file; raise ConfigError naming the source and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", "", f"{origin} is not valid TOML: {exc}") from None
    for key in data:
        if key not in ("source", "family", "notify", "cluster"):
            raise ConfigError("", key, f"unknown top-level key in {origin}; sources are [source.NAME] tables")
    table = data.get("source", {})
    families = data.get("family", {})
    if not isinstance(table, dict) or not isinstance(families, dict) or not (table or families):
        raise ConfigError("", "source", f"{origin} declares no [source.NAME] table")
    shared, public_url = _global_notify(data["notify"]) if "notify" in data else ((), None)
    if "cluster" in data:
        cluster_redis(data["cluster"])
    sources = {name: _source(name, entry) for name, entry in table.items()}
    for family, entry in families.items():
        for name, expanded in _family(family, entry).items():
            if name in sources:
                raise ConfigError(family, "hosts", f"source {name!r} is declared twice")
            sources[name] = _source(name, expanded)
    return {
        name: replace(source, notify=tuple(dict.fromkeys((*source.notify, *shared))), public_url=public_url)
        for name, source in sources.items()
    }


def default_sources_path() -> str:
    """Return the sources file to use: $READOUTS_SOURCES, else the bundled file."""
    return os.environ.get("READOUTS_SOURCES") or str(resources.files("crawler.config").joinpath(BUNDLED_SOURCES))


def load_sources(path: str | Path | None = None) -> dict[str, Source]:
    """Read and validate a sources file (default: $READOUTS_SOURCES, else the bundled one)."""
    path = Path(path or default_sources_path())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", "", f"cannot read sources file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("", "", f"sources file {path} is not UTF-8") from None
    return parse_sources(text, str(path))


def select(sources: dict[str, Source], names: list[str] | tuple[str, ...]) -> list[Source]:
    """Return the named sources (all when no names given); raise ConfigError on an unknown name."""
    if not names:
        return list(sources.values())
    unknown = [n for n in names if n not in sources]
    if unknown:
        raise ConfigError(unknown[0], "", f"no such source (known: {', '.join(sources)})")
    return [sources[n] for n in names]
