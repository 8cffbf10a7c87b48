"""The cluster commands: worker, writer, cluster status, and `crawl --redis` (Redis is imported only here)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from crawler.cli.file_errors import InputError
from crawler.config.sources import load_cluster_redis, load_sources, select, valid_redis_url
from crawler.errors import ConfigError

REDIS_OPTION = click.option(
    "--redis", "redis_url", metavar="URL", help="The cluster's Redis (default: the sources file's [cluster] redis)."
)


def cluster_url(sources_path: str, given: str | None) -> str | None:
    """Return the Redis URL of cluster mode: --redis, else the sources file's [cluster] redis, else None."""
    if given is not None:
        problem = valid_redis_url(given)
        if problem:
            raise InputError(f"--redis: {problem}")
        return given
    return load_cluster_redis(sources_path)


def _required(sources_path: str, given: str | None) -> str:
    """Return the cluster's Redis URL, or exit 2 saying how to give one."""
    url = cluster_url(sources_path, given)
    if url is None:
        raise InputError(
            'no Redis: give --redis URL or add [cluster] redis = "redis://host:6379/0" to the sources file'
        )
    return url


def _connect(url: str) -> Any:
    """Return a client of a reachable Redis, or exit 1 naming it."""
    import redis

    from crawler.cluster import keys

    client = keys.connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach Redis at {url}: {exc}") from None
    return client


def cluster_crawl(
    sources_path: str,
    url: str,
    names: tuple[str, ...],
    as_json: bool,
    trigger: str = "manual",
    bounds: dict[str, Any] | None = None,
) -> None:
    """Ask the cluster's writer for a crawl, wait for its outcome, print it and exit 0 (1 when it failed).

    bounds: `max_pages`, `recheck` and `full` as `readouts crawl` takes them, for the cluster's crawl as a whole.
    """
    from crawler.cluster.ask import ask_crawl, wait_crawl

    try:
        chosen = [s.name for s in select(load_sources(sources_path), names)] if names else []
    except ConfigError as exc:
        raise InputError(f"error: {exc}") from None
    client = _connect(url)
    outcome = wait_crawl(client, ask_crawl(client, chosen, trigger, **(bounds or {})))
    assert outcome is not None  # no timeout: wait_crawl blocks until the writer answers
    if outcome["status"] == "refused":  # as on one machine: one crawl of a source at a time
        raise click.ClickException(f"{outcome['error']}; crawl it again when that run ends")
    if as_json:
        click.echo(json.dumps(outcome))
    else:
        counts = ", ".join(f"{outcome[k]} {k.replace('_', ' ')}" for k in ("pages_fetched", "new_documents", "errors"))
        click.echo(f"run {outcome['run_id']} {outcome['status']} (cluster): {counts}", err=True)
    sys.exit(0 if outcome["status"] == "ok" else 1)


def register(main: click.Group) -> None:
    """Add the cluster commands to the `readouts` group."""

    @main.command("worker")
    @REDIS_OPTION
    @click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log at INFO level.")
    @click.option(
        "--max-waiting",
        type=click.IntRange(min=1),
        default=1000,
        show_default=True,
        help="Results waiting for the writer at most: past it, this worker holds its results and takes no new work.",
    )
    @click.pass_obj
    def worker_cmd(obj: Any, redis_url: str | None, verbose: bool, max_waiting: int) -> None:
        """Crawl from the cluster's shared frontier until stopped (SIGTERM or SIGINT); any number, any machine.

        Needs the same sources file as the writer; pages go to the writer through Redis; nothing is written here.
        """
        from crawler.cluster.worker import run_worker

        url = _required(obj.sources, redis_url)
        try:
            sources = load_sources(obj.sources)
        except ConfigError as exc:
            raise InputError(f"error: {exc}") from None
        _connect(url)
        run_worker(sources, url, "INFO" if verbose else "WARNING", max_waiting)

    @main.command("writer")
    @REDIS_OPTION
    @click.option("-v", "--verbose", is_flag=True, help="Log each run started and finished.")
    @click.pass_obj
    def writer_cmd(obj: Any, redis_url: str | None, verbose: bool) -> None:
        """Record the cluster's results into the archive (--db) and its WARC files until stopped; run one.

        Starts the crawls asked for by `crawl --redis`, records each page once, finishes a run when no work is left.
        """
        from crawler.cluster.writer import run_writer

        url = _required(obj.sources, redis_url)
        try:
            sources = load_sources(obj.sources)
        except ConfigError as exc:
            raise InputError(f"error: {exc}") from None
        obj.writable()
        _connect(url)
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
        run_writer(url, obj.db, sources)

    @main.group("cluster")
    def cluster_group() -> None:
        """The cluster (cluster mode: Redis shared by workers and one writer)."""

    @cluster_group.command("status")
    @REDIS_OPTION
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @click.pass_obj
    def status_cmd(obj: Any, redis_url: str | None, as_json: bool) -> None:
        """Workers alive, requests queued per source, results waiting for the writer, the writer's rate.

        JSON: {"workers": [{"worker", "alive", "busy", "runs", "holding", "pages", "age_s", …}], "queued",
        "queued_by_source", "seeds_waiting", "results_waiting", "open_runs",
        "writer": {"recorded", "rate", "alive", …}}.
        """
        from crawler.cluster.status import cluster_status

        state = cluster_status(_connect(_required(obj.sources, redis_url)))
        if as_json:
            click.echo(json.dumps(state.as_json()))
            return
        alive = [w for w in state.workers if w["alive"]]
        click.echo(f"workers alive: {len(alive)} of {len(state.workers)}")
        for w in state.workers:
            held = f", holding {w['holding']} results (the writer is behind)" if w.get("holding") else ""
            click.echo(
                f"  {w['worker']}: {'alive' if w['alive'] else 'silent'} {w['age_s']}s ago, busy {w['busy']}{held}"
            )
        click.echo(f"requests queued: {state.queued}")
        for name, count in state.queued_by_source.items():
            click.echo(f"  {name}: {count}")
        click.echo(f"crawls waiting to start: {state.seeds_waiting}; open runs: {state.open_runs}")
        click.echo(f"results waiting for the writer: {state.results_waiting}")
        writer = state.writer
        click.echo(
            f"writer: {'alive' if writer['alive'] else 'silent'}, {writer['recorded']} recorded, {writer['rate']}/s"
            if writer
            else "writer: never seen"
        )
