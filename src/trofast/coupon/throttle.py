"""Throttling of code guessing: too many unknown codes from one key or client → 429.

A sliding-window log per bucket (`key:<id>`, `ip:<address>`): the times of the recent
failures, oldest first. A bucket with `limit` failures inside `window` seconds is blocked
until its oldest failure leaves the window, which is also the Retry-After we send. Only
failures are recorded, so a shop whose customers type valid codes is never slowed down, and
a blocked caller is refused before the lookup, so it learns nothing more while blocked.

Why not a library: `pyrate-limiter` is in the environment only as a test dependency of
schemathesis, its API changed incompatibly in each of its last major versions, and its
`try_acquire` counts every call rather than the failed ones we need to count. This is ~60
lines with no I/O. Why in process: the limit is a brake on guessing, not an accounting
record; with N API workers a guesser gets at most N times the limit before every worker
refuses it, and 60-bit codes make that harmless. A shared limiter (PostgreSQL or Redis)
would add a write to every failed lookup for little gain.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    failures: int
    window_seconds: float


class GuessThrottle:
    """Thread-safe: sync endpoints run on a pool of worker threads."""

    # Above this many buckets, empty ones are swept so a scan from many addresses cannot
    # grow the map without bound.
    SWEEP_ABOVE = 10_000

    def __init__(
        self, limits: dict[str, Limit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, buckets: Iterable[str]) -> int | None:
        """Seconds until every given bucket may try again, or None if none is blocked."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for bucket in buckets:
                limit = self._limits[bucket.split(":", 1)[0]]
                times = self._trimmed(bucket, now, limit)
                if times is not None and len(times) >= limit.failures:
                    wait = max(wait, times[-limit.failures] + limit.window_seconds - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def record_failure(self, buckets: Iterable[str]) -> dict[str, int]:
        """Count one failure in each bucket; returns the failures now in each window."""
        now = self._clock()
        counts: dict[str, int] = {}
        with self._lock:
            if len(self._failures) > self.SWEEP_ABOVE:
                self._sweep(now)
            for bucket in buckets:
                limit = self._limits[bucket.split(":", 1)[0]]
                times = self._trimmed(bucket, now, limit)
                if times is None:
                    times = self._failures[bucket] = deque()
                times.append(now)
                # Older entries beyond the limit never decide anything again.
                while len(times) > limit.failures:
                    times.popleft()
                counts[bucket] = len(times)
        return counts

    def _trimmed(self, bucket: str, now: float, limit: Limit) -> deque[float] | None:
        times = self._failures.get(bucket)
        if times is None:
            return None
        while times and times[0] <= now - limit.window_seconds:
            times.popleft()
        return times

    def _sweep(self, now: float) -> None:
        for bucket in list(self._failures):
            limit = self._limits[bucket.split(":", 1)[0]]
            times = self._trimmed(bucket, now, limit)
            if not times:
                del self._failures[bucket]
