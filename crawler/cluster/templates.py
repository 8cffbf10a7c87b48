"""Each site's template lines as the writer publishes them in Redis, read by the workers, cached by version."""

from __future__ import annotations

import json
from typing import Any

from crawler.cluster import keys


class PublishedTemplates:
    """A worker's view of the sites' published templates: per host, the lines of the version it read last."""

    def __init__(self, redis: Any) -> None:
        """Keep the client; nothing read yet."""
        self.redis = redis
        self.cache: dict[str, tuple[int, frozenset[str]]] = {}

    def get(self, host: str) -> tuple[int, frozenset[str]]:
        """Return the site's newest template version and its lines (0 and none: none published yet).

        One small read a page (the version); the lines are read again only when the version moved on.
        """
        version = int(self.redis.hget(keys.site_template(host), "version") or 0)
        cached = self.cache.get(host)
        if cached is None or cached[0] != version:
            lines = self.redis.hget(keys.site_template(host), "keys")
            cached = self.cache[host] = (version, frozenset(json.loads(lines) if lines else ()))
        return cached
