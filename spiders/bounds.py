"""`max_pages`: what a crawl of one source may still request, and what its re-checks may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
ARTICLE, LISTING = "article", "listing"


@dataclass
class Budget:
    """Requests of one crawl under its bound: at most `limit` new article pages, and listing pages only while
    listings and articles together stay under `limit` (so an endless listing stops too)."""

    limit: int
    articles: int = 0
    listings: int = 0

    def allows(self, kind: str) -> bool:
        """Return True when a request of this kind ("article" or "listing") fits the bound."""
        if kind == ARTICLE:
            return self.articles < self.limit
        return self.listings + self.articles < self.limit

    def take(self, kind: str) -> bool:
        """Count one request of this kind when it fits the bound; return whether it did."""
        if not self.allows(kind):
            return False
        self.spend(kind)
        return True

    def spend(self, kind: str) -> None:
        """Count one request of this kind."""
        if kind == ARTICLE:
            self.articles += 1
        else:
            self.listings += 1


def most_overdue(due: list[T], limit: int) -> tuple[list[T], int]:
    """Return the re-checks a crawl takes (the first `limit`, most overdue first) and how many stay due."""
    return due[:limit], max(0, len(due) - limit)


def beyond_depth(parent_depth: int, max_depth: int) -> bool:
    """Return True when a link found at parent_depth steps from a start URL is more than max_depth steps away."""
    return max_depth > 0 and parent_depth + 1 > max_depth
