"""Retry policy and the call deadline: which failures to retry, how long to wait, when to stop.

Pure logic shared by the sync and the async client; they differ only in how they sleep and
send. A rerank call is idempotent, so a failure that may be transient is retried; which ones
are is `rerankit.policy`'s rule (shared with the fallbacks and the proxy's router):
408/425/429/5xx, connection errors and timeouts are retried; the request's own mistakes,
the deployment's rejected credentials and answers we cannot parse are not.

The wait before retry `n` (0-based) is "full jitter" exponential backoff,
`uniform(0, min(backoff_max, backoff * 2**n))`, unless the upstream said `Retry-After`
(seconds or an HTTP date, parsed into `RateLimitError.retry_after` /
`ProviderError.retry_after`), which wins, capped at `backoff_max` too (a call may have no
deadline). A wait that would outlast the call's deadline is not taken: the call gives up
at once with the last error rather than sleeping into a certain timeout.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from .errors import ProviderError, ProviderTimeoutError
from .policy import backoff_delay, may_retry

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "Deadline",
    "RetryPolicy",
    "CallStats",
    "is_retryable",
    "deadline_error",
    "note_attempts",
]

#: Retries after the first attempt, unless the client or the call says otherwise.
DEFAULT_MAX_RETRIES = 2
#: Seconds: the backoff ceiling before the first retry, doubled for each further one...
DEFAULT_BACKOFF = 0.5
#: ... up to this many seconds.
DEFAULT_BACKOFF_MAX = 8.0


class Deadline:
    """The instant one call must be done by (monotonic clock); `None` seconds: no limit."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a deadline."""
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.at is not None and time.monotonic() >= self.at


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed (`rerankit.policy`)."""
    return may_retry(error)


@dataclass(slots=True)
class CallStats:
    """What one call has done so far, across its chunks; read when it fails or succeeds."""

    attempts: int = 0
    retries: int = 0
    last_status: int | None = None

    def started(self) -> None:
        """Count one upstream attempt as it starts (so one cut by the deadline counts)."""
        self.attempts += 1

    def record(self, error: ProviderError | None, status: int | None = None) -> None:
        """Remember the status of a finished attempt, if the upstream answered."""
        code = error.status_code if error is not None else status
        if code is not None:
            self.last_status = code


@dataclass(slots=True)
class RetryPolicy:
    """How often and how patiently one chunk is retried."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    backoff_max: float = DEFAULT_BACKOFF_MAX
    rng: random.Random | None = None

    def delay(self, error: ProviderError, retry: int, deadline: Deadline) -> float | None:
        """Seconds to wait before retry number `retry` (0-based), or None to give up now."""
        if retry >= self.max_retries or not is_retryable(error):
            return None
        if error.retry_after is None:
            wait = backoff_delay(retry, self.backoff, self.backoff_max, self.rng)
        else:  # the upstream's word, within the backoff's own cap (a call may have no deadline)
            wait = min(error.retry_after, self.backoff_max)
        remaining = deadline.remaining()
        if remaining is not None and wait >= remaining:
            return None  # sleeping would outlast the call: fail now, with the real error
        return wait


def note_attempts(error: ProviderError, stats: CallStats, attempts: int) -> ProviderError:
    """Record in `error` how many attempts its chunk made and the last upstream status.

    Attributes only: `str(error)` renders them after the message (`ProviderError`).
    """
    error.attempts = attempts
    error.attempts_noted = True
    if error.last_status is None:
        error.last_status = error.status_code or stats.last_status
    return error


def deadline_error(
    provider: str, model: str, deadline: Deadline, stats: CallStats
) -> ProviderTimeoutError:
    """The error for a call that ran out of its overall `timeout`."""
    status = f"; last upstream status {stats.last_status}" if stats.last_status else ""
    error = ProviderTimeoutError(
        f"{provider} did not complete the call for model {model!r} within timeout="
        f"{deadline.seconds:g}s ({stats.attempts} attempt(s){status}). Raise timeout= or "
        f"check the upstream.",
        provider=provider,
        model=model,
    )
    error.attempts = stats.attempts
    error.last_status = stats.last_status
    return error
