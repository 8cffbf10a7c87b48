"""Loaded first by the extraction workers' fork server: the server dies with the crawl that started it."""

from __future__ import annotations

import os

from crawler.extraction.pool import die_with

# the server's workers hold its "alive" pipe open, so it would only notice its crawl's death when every worker had
# finished its page; dying with the crawl (its parent), it takes its workers with it (they die with the server).
# A crawl that died before this ran had forked no worker yet: the server then sees its pipe closed and exits. (The
# death signal follows the thread that spawned the server: the pool spawns it from the thread that asks for the first
# page's extraction, the crawl's own, and forks the workers from a thread of its own meanwhile.)
die_with(os.getppid())
