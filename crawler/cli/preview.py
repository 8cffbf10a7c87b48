"""`readouts sources --try` and `--new`: a dry run of a source, and a source entry proposed from a listing page."""

from __future__ import annotations

import click

from crawler.cli.terminal import show
from crawler.config.sources import Source, parse_sources
from crawler.errors import ConfigError

SHOWN = 10  # links listed per kind
SAMPLE_LINES = 3


def _listed(title: str, urls: list[str]) -> None:
    """Print a heading with a count and the first links."""
    unique = list(dict.fromkeys(urls))
    show(f"{title} ({len(unique)}):")
    for url in unique[:SHOWN]:
        show(f"  {url}")
    if len(unique) > SHOWN:
        show(f"  … and {len(unique) - SHOWN} more")


def try_source(source: Source, max_pages: int, verbose: bool) -> None:
    """Fetch a few pages of a source as a crawl would and print what it would follow and archive; write nothing."""
    from crawler.dry_run import preview

    click.echo(f"trying {source.name} (at most {max_pages} requests; nothing is written)", err=True)
    seen = preview(source, max_pages, "INFO" if verbose else "CRITICAL")
    _listed("listing pages, feeds and sitemaps fetched", seen.listings)
    _listed("links that would be followed", seen.follow)
    _listed("links that would be archived as articles", seen.articles)
    _listed("article pages fetched", seen.fetched)
    if not seen.listings:
        raise click.ClickException(f"no listing page, feed or sitemap of {source.name} could be fetched")
    if seen.sample is None:
        show("no article text extracted: check `articles` (which links are articles) and the pages fetched above")
        return
    show(f"one article: {seen.sample_url}")
    show(f"  title: {seen.sample.title or '(none)'}")
    show(f"  date: {seen.sample.published or '(none found)'}")
    for line in seen.sample.lines[:SAMPLE_LINES]:
        show(f"  | {line[:200]}")


def new_source(name: str, url: str, verbose: bool) -> None:
    """Fetch one listing page and print a proposed source entry (TOML) for the user to edit."""
    from crawler.config.propose import propose
    from crawler.dry_run import preview

    probe_toml = f"[source.{name}]\nstart_urls = [\"{url}\"]\narticles = ['(?!)']\n"  # articles: match nothing
    try:
        probe = parse_sources(probe_toml)[name]
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--new") from None
    seen = preview(probe, 3, "INFO" if verbose else "CRITICAL")  # robots.txt, the page (and a redirect)
    body = seen.bodies.get(url)
    if body is None:
        why = seen.listings[0] if seen.listings else "no answer"
        raise click.ClickException(f"could not fetch {url} ({why}): is it reachable, and allowed by robots.txt?")
    proposal = propose(name, url, body)
    text = proposal.toml()
    parse_sources(text.replace("'CHANGE ME'", "'.'"))  # the proposal is a valid entry once edited
    click.echo(text, nl=False)
    click.echo("# a proposal: check it with `readouts sources --try NAME` and add it to your sources file", err=True)
