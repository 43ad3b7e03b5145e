"""rerankit.policy: one rule for what a failure allows, shared by SDK and proxy."""

from __future__ import annotations

import random

import pytest

from rerankit._fallback import should_fall_back
from rerankit._retry import is_retryable
from rerankit.errors import (
    APIStatusError,
    ConfigurationError,
    InvalidModelError,
    InvalidParameterError,
    InvalidResponseError,
    MissingApiKeyError,
    ProviderConnectionError,
    ProviderTimeoutError,
    status_error,
)
from rerankit.policy import (
    Fault,
    backoff_delay,
    counts_against_deployment,
    fault_of,
    may_move_on,
    may_retry,
)


def upstream(status: int) -> APIStatusError:
    return status_error(status, provider="p", model="m", body="")


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (upstream(400), Fault.REQUEST),
        (upstream(404), Fault.REQUEST),
        (upstream(409), Fault.REQUEST),
        (upstream(413), Fault.REQUEST),
        (upstream(422), Fault.REQUEST),
        (InvalidParameterError("bad"), Fault.REQUEST),
        (InvalidModelError("unsafe"), Fault.REQUEST),
        (ConfigurationError("no base"), Fault.REQUEST),
        (MissingApiKeyError("p", "P_KEY"), Fault.REQUEST),
        (upstream(401), Fault.DEPLOYMENT),
        (upstream(403), Fault.DEPLOYMENT),
        (upstream(402), Fault.DEPLOYMENT),
        (upstream(301), Fault.DEPLOYMENT),
        (upstream(307), Fault.DEPLOYMENT),
        (upstream(429), Fault.RATE_LIMITED),
        (upstream(408), Fault.TRANSIENT),
        (upstream(500), Fault.TRANSIENT),
        (upstream(503), Fault.TRANSIENT),
        (upstream(599), Fault.TRANSIENT),
        (ProviderTimeoutError("t"), Fault.TRANSIENT),
        (ProviderConnectionError("c"), Fault.TRANSIENT),
        (InvalidResponseError("x", status_code=200), Fault.BAD_ANSWER),
        (ValueError("not ours"), Fault.REQUEST),
    ],
)
def test_every_failure_has_one_fault(error, fault):
    assert fault_of(error) is fault


@pytest.mark.parametrize(
    ("fault_error", "retry", "move_on", "counts"),
    [
        (upstream(404), False, False, False),
        (upstream(401), False, True, True),
        (upstream(429), True, True, False),
        (upstream(502), True, True, True),
        (InvalidResponseError("x"), False, True, True),
    ],
)
def test_what_each_fault_allows(fault_error, retry, move_on, counts):
    assert may_retry(fault_error) is retry
    assert may_move_on(fault_error) is move_on
    assert counts_against_deployment(fault_error) is counts


def test_the_sdk_asks_the_same_rule():
    for status in (400, 401, 404, 408, 429, 500, 307):
        error = upstream(status)
        assert is_retryable(error) is may_retry(error)
        assert should_fall_back(error) is may_move_on(error)


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling():
    rng = random.Random(1)
    waits = [backoff_delay(n, 0.1, 1.0, rng) for n in range(8) for _ in range(200)]
    per_retry = [waits[i * 200 : (i + 1) * 200] for i in range(8)]
    for n, group in enumerate(per_retry):
        ceiling = min(1.0, 0.1 * 2**n)
        assert all(0 <= w <= ceiling for w in group)
        assert max(group) > ceiling * 0.9  # it does use the whole range
    assert backoff_delay(10_000, 0.1, 2.0, rng) <= 2.0  # no overflow for huge retry counts
