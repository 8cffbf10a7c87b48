"""Redis claims whose retry after a lost reply gives the same answer (at-least-once across a Redis restart).

keys.connect's client sends a command again when its connection drops. A command Redis ran (and wrote to its
append-only file) whose reply the restart lost then runs twice. A second SADD answers "already there", so a
worker dropped the article it had just claimed: articles went missing after a Redis restart. A claim here is a
hash field holding the claimer's token, so a retried claim of one's own is still one's.
"""

from __future__ import annotations

import uuid
from typing import Any

# take the member for the token unless another token holds it: 1 when the token holds it now
CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then return 1 end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 1 end
return 0
"""


class Claims:
    """Claim members of Redis hashes, each for one caller, safely under redis-py's retries."""

    def __init__(self, redis: Any) -> None:
        """Register the claim script with the client."""
        self.script = redis.register_script(CLAIM)

    def claim(self, key: str, member: str, token: str | None = None) -> bool:
        """Return True when this call (or an earlier one with the same token) claimed the member, False when
        another had it. Give a token to make a claim that is tried again, by the caller, still its own."""
        return bool(self.script(keys=[key], args=[member, token or uuid.uuid4().hex]))
