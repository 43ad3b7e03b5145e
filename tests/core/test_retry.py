"""Retries: which failures are retried, backoff with jitter, Retry-After, attempts in errors."""

from __future__ import annotations

import email.utils
import json
import random
import time

import httpx
import pytest

from rerankit import AsyncClient, Client
from rerankit._retry import Deadline, RetryPolicy, is_retryable
from rerankit.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidParameterError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

from .fakes import registry

DOCS = ["alpha", "beta", "gamma"]


def answer(request: httpx.Request) -> httpx.Response:
    docs = json.loads(request.content)["documents"]
    return httpx.Response(
        200, json={"results": [{"index": i, "score": -i} for i in range(len(docs))]}
    )


def scripted(*steps):
    """A handler that plays `steps` in order (a status, an exception or "ok"), then answers."""
    seen: list[float] = []
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        step = queue.pop(0) if queue else "ok"
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        if step == "ok":
            return answer(request)
        return httpx.Response(step, json={"detail": f"status {step}"})

    return handle, seen


def make(handler, **kwargs) -> Client:
    kwargs.setdefault("retry_backoff", 0.001)
    return Client(transport=httpx.MockTransport(handler), registry=registry(), **kwargs)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_to_success(status):
    handler, seen = scripted(status, status)
    r = make(handler).rerank("echo/m", "q", DOCS)
    assert [x.index for x in r.results] == [0, 1, 2]
    assert len(seen) == 3 and r.meta.attempts == 3


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ReadError("reset")]
)
def test_connection_errors_and_read_timeouts_are_retried(failure):
    handler, seen = scripted(failure)
    r = make(handler).rerank("echo/m", "q", DOCS)
    assert len(r.results) == 3 and len(seen) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, APIStatusError),
        (422, APIStatusError),
    ],
)
def test_other_4xx_are_never_retried(status, error):
    handler, seen = scripted(status, status, status)
    with pytest.raises(error) as info:
        make(handler).rerank("echo/m", "q", DOCS)
    assert len(seen) == 1 and info.value.attempts == 1


def test_unparseable_answer_is_not_retried():
    handler, seen = scripted(httpx.Response(200, text="not json"))
    with pytest.raises(InvalidResponseError):
        make(handler).rerank("echo/m", "q", DOCS)
    assert len(seen) == 1


def test_error_after_last_retry_carries_attempts_and_last_status():
    handler, seen = scripted(503, 500, 502, 503)
    with pytest.raises(ServerError) as info:
        make(handler, max_retries=2).rerank("echo/m", "q", DOCS)
    assert len(seen) == 3
    assert info.value.attempts == 3 and info.value.last_status == 502
    assert "gave up after 3 attempts, last upstream status 502" in str(info.value)


def test_connection_error_after_a_503_reports_the_503():
    handler, _ = scripted(503, httpx.ConnectError("refused"))
    with pytest.raises(ProviderConnectionError) as info:
        make(handler, max_retries=1).rerank("echo/m", "q", DOCS)
    assert info.value.attempts == 2 and info.value.last_status == 503


def test_max_retries_per_call_overrides_the_client():
    handler, seen = scripted(503, 503, 503, 503)
    client = make(handler, max_retries=5)
    with pytest.raises(ServerError):
        client.rerank("echo/m", "q", DOCS, max_retries=0)
    assert len(seen) == 1
    r = client.rerank("echo/m", "q", DOCS)  # three 503s left, then success
    assert r.meta.attempts == 4


@pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_whole_number(value):
    with pytest.raises(InvalidParameterError, match="max_retries"):
        make(answer).rerank("echo/m", "q", DOCS, max_retries=value)


def test_retry_after_seconds_is_honoured():
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "0.3"}))
    make(handler, retry_backoff=0).rerank("echo/m", "q", DOCS)
    assert seen[1] - seen[0] >= 0.29


def test_retry_after_http_date_is_honoured():
    # HTTP dates have whole-second resolution: 2 s ahead waits between 1 and 2 s.
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    handler, seen = scripted(httpx.Response(503, headers={"Retry-After": when}))
    make(handler, retry_backoff=0).rerank("echo/m", "q", DOCS)
    assert seen[1] - seen[0] >= 0.9


def test_retry_after_beyond_the_deadline_fails_at_once_with_the_real_error():
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as info:
        make(handler).rerank("echo/m", "q", DOCS, timeout=2)
    assert time.monotonic() - started < 1.0 and len(seen) == 1
    assert info.value.retry_after == 30


def test_a_long_retry_after_is_capped_at_the_backoff_ceiling_without_a_deadline():
    policy = RetryPolicy(max_retries=2, backoff=0.5, backoff_max=4.0)
    error = RateLimitError("x", status_code=429, retry_after=60.0)
    assert policy.delay(error, 0, Deadline(None)) == 4.0


def test_backoff_is_full_jitter_exponential_and_capped():
    policy = RetryPolicy(max_retries=10, backoff=0.5, backoff_max=4.0, rng=random.Random(7))
    error = ServerError("x", status_code=503)
    no_deadline = Deadline(None)
    for retry, ceiling in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        waits = [policy.delay(error, retry, no_deadline) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # full jitter spans the whole range
        assert min(waits) < ceiling * 0.2
    assert policy.delay(error, 10, no_deadline) is None  # retries used up


def test_retryable_classification():
    assert is_retryable(ProviderTimeoutError("t"))
    assert is_retryable(ProviderConnectionError("c"))
    assert is_retryable(APIStatusError("x", status_code=408))
    assert not is_retryable(APIStatusError("x", status_code=409))
    assert not is_retryable(InvalidResponseError("x", status_code=200))


async def test_async_client_retries_the_same_way():
    handler, seen = scripted(429, httpx.ConnectError("refused"), 503, "ok", 400)
    async with AsyncClient(
        transport=httpx.MockTransport(handler), registry=registry(), retry_backoff=0.001
    ) as client:
        r = await client.rerank("echo/m", "q", DOCS, max_retries=3)
        assert r.meta.attempts == 4 and len(seen) == 4
        with pytest.raises(BadRequestError) as info:
            await client.rerank("echo/m", "q", DOCS, max_retries=3)
    assert len(seen) == 5 and info.value.attempts == 1
