"""`max_pages` for the whole cluster: one source crawl's requests counted in Redis, whichever worker makes them."""

from __future__ import annotations

from typing import Any

from spiders.bounds import ARTICLE, LISTING, Budget

# take one request of a kind when it fits the bound (or always, when forced): the rule of spiders.bounds.Budget
TAKE = """
local articles = tonumber(redis.call('HGET', KEYS[1], 'article') or '0')
local listings = tonumber(redis.call('HGET', KEYS[1], 'listing') or '0')
local limit = tonumber(ARGV[2])
local fits
if ARGV[1] == 'article' then fits = articles < limit else fits = articles + listings < limit end
if fits or ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  return 1
end
return 0
"""


class RedisBudget(Budget):
    """A Budget whose counts live in a Redis hash shared by every worker of the run (taken atomically, in Lua)."""

    def __init__(self, redis: Any, key: str, limit: int) -> None:
        """Keep the client, the run's hash for this source and the bound."""
        super().__init__(limit)
        self.redis, self.key = redis, key
        self.script = redis.register_script(TAKE)

    def _counts(self) -> tuple[int, int]:
        """Return (articles, listings) requested so far by the whole cluster."""
        articles, listings = self.redis.hmget(self.key, ARTICLE, LISTING)
        return int(articles or 0), int(listings or 0)

    def allows(self, kind: str) -> bool:
        """Return True when a request of this kind fits the cluster's bound now."""
        self.articles, self.listings = self._counts()
        return super().allows(kind)

    def take(self, kind: str) -> bool:
        """Count one request of this kind for the cluster when it fits the bound; return whether it did."""
        return bool(self.script(keys=[self.key], args=[kind, self.limit, 0]))

    def spend(self, kind: str) -> None:
        """Count one request of this kind for the cluster, bound or not."""
        self.script(keys=[self.key], args=[kind, self.limit, 1])
