"""Keys checked recently, so a till or a shop server sending a burst of requests has its key
checked once per few seconds rather than on every request.

The check is a transaction of its own (see `dependencies.authenticate_apart`): three round
trips to the database, about a fifth of a till lookup. The price is stated in the settings:
a key revoked from another process is still accepted for up to `api_key_cache_seconds` by a
worker that checked it just before. Only keys that passed are kept, so every refusal (and
its throttling) still goes to the database.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from trofast.models import ApiKey

# More live keys than this means keys per customer, not per till or shop: stop remembering.
MAX_KEYS = 1024


class KeyCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        # By a digest of the presented key, so no secret is held longer than its request.
        self._keys: dict[bytes, tuple[float, ApiKey]] = {}

    def get(self, presented: str) -> ApiKey | None:
        """The key if it passed a check less than `ttl_seconds` ago."""
        found = self._keys.get(_digest(presented))
        if found is None or found[0] <= self._clock():
            return None
        return found[1]

    def put(self, presented: str, key: ApiKey) -> None:
        """Remember a key that just passed (detached from its session, read-only)."""
        if self._ttl <= 0:
            return
        now = self._clock()
        if len(self._keys) >= MAX_KEYS:
            self._keys = {d: entry for d, entry in self._keys.items() if entry[0] > now}
            if len(self._keys) >= MAX_KEYS:
                return
        self._keys[_digest(presented)] = (now + self._ttl, key)


def _digest(presented: str) -> bytes:
    return hashlib.sha256(presented.encode()).digest()
