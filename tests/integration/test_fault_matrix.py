"""The fault-injection matrix: every upstream fault mode of the fake NIM on 127.0.0.1, and the
outcome rerankit defines for it (retried to success, or the right typed error in time).

Each mode is queued for the next request(s) with `enqueue_faults`; the server answers
normally afterwards. Nothing here may crash, hang or return a wrong ranking.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import rerankit
from rerankit.errors import (
    APIStatusError,
    BadRequestError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from tests.conftest import NIM_KEY
from tests.fakes.nim_server import score

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
QUERY = "memory bandwidth of the H100 GPU"
DOCS = [
    "H100 delivers 3 TB/s of memory bandwidth",
    "A100 has 2 TB/s",
    "the GPU memory is HBM3",
    "unrelated text about cooking",
]
SLACK = 2.0  # deadline checks: generous, CI machines are slow


def expected(docs: list[str], query: str = QUERY) -> list[int]:
    scores = [score(query, d) for d in docs]
    return sorted(range(len(docs)), key=lambda i: (-scores[i], i))


@pytest.fixture(params=["lean", "httpx"])
def client(nim, monkeypatch, request):
    # The sync client's two senders: rerankit's own HTTP/1.1 client and httpx.Client.
    monkeypatch.setenv("RERANKIT_SYNC_TRANSPORT", request.param)
    with rerankit.Client(retry_backoff=0.01, timeout=10) as c:
        yield c


def call(client, nim, docs=DOCS, **kwargs):
    return client.rerank(MODEL, QUERY, docs, api_base=nim.url, api_key=NIM_KEY, **kwargs)


RETRIED_TO_SUCCESS = [
    ["status:500"],
    ["status:502"],
    ["status:503"],
    ["status:504"],
    ["status:408"],
    ["429:0"],
    ["429-date:0"],
    ["html-502"],
    ["reset"],
    ["truncated"],
    ["status:503", "reset"],  # two different faults, then success: within max_retries=2
]


@pytest.mark.parametrize("faults", RETRIED_TO_SUCCESS, ids="+".join)
def test_transient_faults_are_retried_to_the_right_ranking(client, nim, faults):
    nim.enqueue_faults(faults)
    r = call(client, nim)
    assert [x.index for x in r.results] == expected(DOCS)
    assert r.meta.attempts == len(faults) + 1 == len(nim.requests)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("status:503", ServerError),
        ("status:500", ServerError),
        ("html-502", ServerError),
        ("429:0", RateLimitError),
        ("reset", ProviderConnectionError),
        ("truncated", ProviderConnectionError),
    ],
)
def test_persistent_transient_faults_fail_typed_after_the_retries(client, nim, fault, error):
    nim.enqueue_faults([fault] * 3)
    with pytest.raises(error) as info:
        call(client, nim)
    assert info.value.attempts == 3 and len(nim.requests) == 3
    if fault == "html-502":
        assert info.value.last_status == 502 and "nginx" in info.value.body


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("malformed-json", "not JSON"),
        ("empty-body", "not JSON"),
        ("bare-list", "no 'rankings' list"),
        ("out-of-range", "is not a position in the 4 documents"),
        ("repeated", "appears more than once"),
        ("fewer", "3 results for 4 expected"),
    ],
)
def test_wrong_answers_are_invalid_response_errors_never_retried(client, nim, fault, message):
    nim.enqueue_faults([fault])
    with pytest.raises(InvalidResponseError, match=message):
        call(client, nim)
    assert len(nim.requests) == 1


def test_extra_unknown_fields_are_ignored_and_usage_kept(client, nim):
    nim.enqueue_faults(["extra-fields"])
    r = call(client, nim)
    assert [x.index for x in r.results] == expected(DOCS)
    assert r.meta.usage == {"prompt_tokens": 10}


@pytest.mark.parametrize(
    ("fault", "error"), [("status:400", BadRequestError), ("status:409", APIStatusError)]
)
def test_other_4xx_are_not_retried(client, nim, fault, error):
    nim.enqueue_faults([fault] * 3)
    with pytest.raises(error):
        call(client, nim)
    assert len(nim.requests) == 1


def test_retry_after_seconds_from_the_server_is_waited(client, nim):
    nim.enqueue_faults(["429:0.5"])
    started = time.monotonic()
    call(client, nim)
    assert time.monotonic() - started >= 0.45


def test_retry_after_date_from_the_server_is_waited(client, nim):
    nim.enqueue_faults(["429-date:2"])  # whole seconds: waits 1-2 s
    started = time.monotonic()
    call(client, nim)
    assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize("fault", ["hang", "drip:0.05", "slow:30"])
def test_sync_hangs_and_drips_end_at_the_deadline(client, nim, fault):
    nim.enqueue_faults([fault] * 5)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="within timeout=1s"):
        call(client, nim, timeout=1)
    assert time.monotonic() - started < 1 + SLACK


@pytest.mark.parametrize("fault", ["hang", "drip:0.05", "slow:30"])
async def test_async_hangs_and_drips_end_at_the_deadline(nim, fault):
    nim.enqueue_faults([fault] * 5)
    async with rerankit.AsyncClient(timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError):
            await client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
        assert time.monotonic() - started < 1 + SLACK


def test_a_fast_drip_and_a_slow_answer_within_the_deadline_succeed(client, nim):
    nim.enqueue_faults(["drip:0.0005", "slow:0.2"])
    assert [x.index for x in call(client, nim).results] == expected(DOCS)
    assert [x.index for x in call(client, nim).results] == expected(DOCS)


def test_repeated_503s_end_within_the_deadline(nim):
    nim.enqueue_faults(["status:503"] * 1000)
    with rerankit.Client(max_retries=1000, retry_backoff=0.05) as client:
        started = time.monotonic()
        with pytest.raises((ServerError, ProviderTimeoutError)) as info:
            call(client, nim, timeout=1.5)
    assert time.monotonic() - started < 1.5 + SLACK
    assert info.value.last_status == 503 and info.value.attempts > 3


async def test_async_transient_faults_are_retried(nim):
    nim.enqueue_faults(["status:503", "reset", "429:0"])
    async with rerankit.AsyncClient(retry_backoff=0.01) as client:
        r = await client.rerank(
            MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY, max_retries=3
        )
    assert [x.index for x in r.results] == expected(DOCS) and r.meta.attempts == 4


@pytest.mark.parametrize("transport", ["default", "aiohttp", "httpx"])
async def test_async_cancellation_is_prompt_and_leaks_no_connection(nim, monkeypatch, transport):
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    nim.enqueue_faults(["hang"] * 3)
    async with rerankit.AsyncClient() as client:
        task = asyncio.create_task(
            client.rerank(
                MODEL,
                QUERY,
                DOCS * 300,
                api_base=nim.url,
                api_key=NIM_KEY,
                max_documents_per_request=400,
            )
        )
        while len(nim.requests) < 3:  # noqa: ASYNC110 (the server's log is no awaitable)
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1
        if transport == "default":  # rerankit's own pool: no connection left in use
            pool = client._sender_.pool
            assert pool.open == pool.idle()
        elif hasattr(transport := client._http._transport, "_pool"):  # httpx's: none busy
            assert all(c.is_idle() or c.is_closed() for c in transport._pool.connections)
        else:  # the aiohttp pool of rerankit[fast]: no connection still acquired
            assert not transport.client.connector._acquired
        # The client still works afterwards, on a clean pool.
        r = await client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
        assert [x.index for x in r.results] == expected(DOCS)


def test_closing_the_client_closes_its_pool(client, nim):
    call(client, nim)
    client.close()
    if client._http is not None:  # httpx.Client
        assert client._http.is_closed
    else:  # rerankit's own pool: the kept-alive connection is closed
        assert client._sender_.pool.open == 0 and client._sender_.pool.idle() == 0


def test_unicode_round_trips_through_the_wire(client, nim):
    docs = ["日本語 memory bandwidth", "emoji 🎉 GPU", "עברית H100", "e\u0301 combining", ""]
    r = call(client, nim, docs)
    assert sorted(x.document.text for x in r.results) == sorted(docs)
    assert [p["text"] for p in nim.requests[-1].json["passages"]] == docs
