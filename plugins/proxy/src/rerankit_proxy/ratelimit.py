"""Per-key request rates: a token bucket per key, refilled continuously.

A key with `rpm: 600` may burst up to 600 requests and then make 10 per second. State is
per worker process; with several workers each enforces its share (`rpm / workers`,
rounded up), which is exact when the kernel spreads connections evenly. With a shared
Redis (`shared.py`) a fixed window there takes over, and this bucket is what a process
falls back to while Redis does not answer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Token buckets keyed by an opaque caller id."""

    def __init__(self, *, workers: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._workers = max(1, workers)
        self._clock = clock
        #: caller id -> (tokens left, time of last refill)
        self._buckets: dict[bytes, tuple[float, float]] = {}

    def acquire(self, caller: bytes, rpm: int) -> float | None:
        """Take one request from `caller`'s budget: None if allowed, else seconds to wait."""
        capacity = math.ceil(rpm / self._workers)
        rate = capacity / 60.0
        now = self._clock()
        tokens, last = self._buckets.get(caller, (float(capacity), now))
        tokens = min(float(capacity), tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[caller] = (tokens - 1.0, now)
            return None
        self._buckets[caller] = (tokens, now)
        return (1.0 - tokens) / rate
