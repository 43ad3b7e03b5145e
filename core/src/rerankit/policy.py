"""Whose fault a failed upstream call is, and so what may follow it: the one rule.

The SDK's retries and fallbacks and the proxy's router all ask this module, so they can
never disagree about a failure. Every failure falls into one `Fault`:

- `REQUEST`: the call itself is wrong (our validation, a configuration error raised
  before any I/O, an unsafe model path, upstream 400/404/413/422 and any other 4xx not
  named below). Never retried, never another deployment or fallback, never counted.
- `DEPLOYMENT`: the deployment's own setup is wrong (upstream 401/402/403/407: its key or
  account; 3xx: its URL moved). Never retried on it; another deployment or fallback may
  answer; the proxy ejects the deployment at once.
- `RATE_LIMITED`: upstream 429. Retried after its `Retry-After` (or a backoff), preferably
  elsewhere; not counted as a failure.
- `TRANSIENT`: upstream 408/425/5xx, timeouts, refused or broken connections. Retried,
  may move on, counted.
- `BAD_ANSWER`: an answer that cannot be a correct ranking (`InvalidResponseError`). Not
  asked again of the same target; may move on; counted.

A failure caused by the request is answered to its caller at once: another deployment or
model would refuse it too, and counting it would let one tenant's typo take a shared
deployment down for everyone.
"""

from __future__ import annotations

import enum
import random

from .errors import (
    APIStatusError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
)

__all__ = [
    "Fault",
    "fault_of",
    "may_retry",
    "may_move_on",
    "counts_against_deployment",
    "backoff_delay",
    "TRANSIENT_STATUS",
    "DEPLOYMENT_STATUS",
]

#: Upstream statuses that may pass on another try (429 is `RATE_LIMITED`, apart).
TRANSIENT_STATUS = frozenset({408, 425, 500, 502, 503, 504})
#: 4xx statuses that say the deployment's credentials or account are wrong, not the call.
DEPLOYMENT_STATUS = frozenset({401, 402, 403, 407})


class Fault(enum.Enum):
    """Whose fault a failure is; see the module's table for what each allows."""

    REQUEST = "request"
    DEPLOYMENT = "deployment"
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    BAD_ANSWER = "bad_answer"


def fault_of(error: BaseException) -> Fault:
    """Classify a failure of one upstream call (any exception rerankit raises)."""
    if isinstance(error, ProviderTimeoutError | ProviderConnectionError):
        return Fault.TRANSIENT
    if isinstance(error, InvalidResponseError):
        return Fault.BAD_ANSWER
    if isinstance(error, RateLimitError):
        return Fault.RATE_LIMITED
    if isinstance(error, APIStatusError) and error.status_code is not None:
        status = error.status_code
        if status == 429:
            return Fault.RATE_LIMITED
        if status in TRANSIENT_STATUS or status >= 500:
            return Fault.TRANSIENT
        if status in DEPLOYMENT_STATUS or 300 <= status < 400:
            return Fault.DEPLOYMENT
    # Validation, configuration and every other 4xx: the request's own.
    return Fault.REQUEST


_RETRY = frozenset({Fault.TRANSIENT, Fault.RATE_LIMITED})
_MOVE_ON = frozenset({Fault.TRANSIENT, Fault.RATE_LIMITED, Fault.BAD_ANSWER, Fault.DEPLOYMENT})
_COUNTS = frozenset({Fault.TRANSIENT, Fault.BAD_ANSWER, Fault.DEPLOYMENT})


def may_retry(error: BaseException) -> bool:
    """Whether asking the same target again may succeed where this attempt failed."""
    return fault_of(error) in _RETRY


def may_move_on(error: BaseException) -> bool:
    """Whether another deployment or the next fallback model may answer instead."""
    return fault_of(error) in _MOVE_ON


def counts_against_deployment(error: BaseException) -> bool:
    """Whether the failure says something about the deployment's health."""
    return fault_of(error) in _COUNTS


#: Shared by every call: seeding a generator per call costs more than the call's retry logic.
_JITTER = random.Random()


def backoff_delay(retry: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retry` (0-based): "full jitter" backoff.

    `uniform(0, min(cap, base * 2**retry))`: spreads the retries of many callers that
    failed together instead of sending them back in one wave.
    """
    ceiling = min(cap, base * 2 ** min(retry, 62))
    return (rng or _JITTER).uniform(0.0, ceiling)
