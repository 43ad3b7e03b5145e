"""Large calls: split into chunks, sent concurrently, merged exactly; failures name the range."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import zlib
from typing import ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rerankit import AsyncClient, Client
from rerankit._chunking import chunk_ranges
from rerankit.errors import (
    BadRequestError,
    InvalidParameterError,
    InvalidResponseError,
    ServerError,
)

from .fakes import EchoProvider, registry


def pair_score(query: str, text: str) -> float:
    """A per-pair scorer with plenty of ties (so the tie order is tested too)."""
    return float(zlib.crc32(f"{query}\x00{text}".encode()) % 13)


def scorer(requests: list[list[str]] | None = None, lock: threading.Lock | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if requests is not None:
            with lock or threading.Lock():
                requests.append(body["documents"])
        results = [
            {"index": i, "score": pair_score(body["query"], d)}
            for i, d in enumerate(body["documents"])
        ]
        return httpx.Response(200, json={"results": results[::-1]})

    return handle


class LimitedEcho(EchoProvider):
    max_documents_per_request: ClassVar[int | None] = 4


def make(handler=None, **kwargs) -> Client:
    reg = registry(echo=EchoProvider(), limited=LimitedEcho())
    return Client(transport=httpx.MockTransport(handler or scorer()), registry=reg, **kwargs)


def dump(response):
    return [(r.index, r.relevance_score, r.document and r.document.text) for r in response.results]


def test_chunk_ranges_cover_every_index_once():
    assert chunk_ranges(10, 4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert chunk_ranges(4, 4) == [range(4)]
    assert chunk_ranges(5, None) == [range(5)]


def test_provider_limit_splits_and_merges_with_original_indices():
    seen: list[list[str]] = []
    docs = [f"doc {i}" for i in range(10)]
    r = make(scorer(seen)).rerank("limited/m", "q", docs)
    assert sorted(len(batch) for batch in seen) == [2, 4, 4]
    one = make().rerank("echo/m", "q", docs)
    assert dump(r) == dump(one)
    assert r.meta.chunks == 3 and r.meta.attempts == 3
    assert one.meta.chunks is None


def test_per_call_limit_overrides_the_provider():
    seen: list[list[str]] = []
    make(scorer(seen)).rerank("limited/m", "q", ["a"] * 10, max_documents_per_request=10)
    assert [len(b) for b in seen] == [10]
    seen.clear()
    make(scorer(seen)).rerank("echo/m", "q", ["a"] * 5, max_documents_per_request=2)
    assert sorted(len(b) for b in seen) == [1, 2, 2]


def test_client_limit_by_model_or_prefix():
    seen: list[list[str]] = []
    client = make(scorer(seen), max_documents_per_request={"echo": 3, "limited/m": 6})
    client.rerank("echo/x", "q", ["a"] * 7)
    client.rerank("limited/m", "q", ["a"] * 7)
    client.rerank("limited/other", "q", ["a"] * 7)
    assert sorted(len(b) for b in seen[:3]) == [1, 3, 3]
    assert sorted(len(b) for b in seen[3:5]) == [1, 6]
    assert sorted(len(b) for b in seen[5:]) == [3, 4]


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "8"])
def test_limits_and_concurrency_are_validated(value):
    with pytest.raises(InvalidParameterError, match="max_documents_per_request"):
        make().rerank("echo/m", "q", ["a"], max_documents_per_request=value)
    with pytest.raises(InvalidParameterError, match="max_concurrency"):
        make().rerank("echo/m", "q", ["a"], max_concurrency=value)


def test_top_n_after_merge_takes_the_global_best():
    docs = [f"passage number {i}" for i in range(50)]
    chunked = make().rerank("echo/m", "q", docs, top_n=7, max_documents_per_request=6)
    whole = make().rerank("echo/m", "q", docs, top_n=7)
    assert dump(chunked) == dump(whole) and len(chunked.results) == 7


def test_sync_chunks_run_concurrently_bounded():
    active = 0
    peak = 0
    lock = threading.Lock()
    inner = scorer()

    def handle(request):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return inner(request)

    make(handle).rerank("echo/m", "q", ["a"] * 20, max_documents_per_request=2, max_concurrency=3)
    assert peak == 3


async def test_async_chunks_run_concurrently_bounded():
    active = 0
    peak = 0
    inner = scorer()

    async def handle(request):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        return inner(request)

    reg = registry()
    async with AsyncClient(transport=httpx.MockTransport(handle), registry=reg) as client:
        r = await client.rerank(
            "echo/m",
            "q",
            [f"d{i}" for i in range(30)],
            max_documents_per_request=2,
            max_concurrency=4,
        )
    assert peak == 4 and len(r.results) == 30


def failing_chunk(bad_doc: str, status: int = 500):
    """Answers every request except those that carry `bad_doc` (those fail with `status`)."""
    inner = scorer()

    def handle(request):
        if bad_doc in json.loads(request.content)["documents"]:
            return httpx.Response(status, json={"detail": "chunk broke"})
        return inner(request)

    return handle


def test_failed_chunk_fails_the_call_naming_its_range():
    docs = [f"d{i}" for i in range(10)]
    client = make(failing_chunk("d5"), retry_backoff=0.001)
    with pytest.raises(ServerError) as info:
        client.rerank("echo/m", "q", docs, max_documents_per_request=4)
    assert info.value.document_range == (4, 8)
    assert "documents 4..7 of 10 failed" in str(info.value)
    assert info.value.attempts == 3


def test_wrong_ranking_in_one_chunk_is_caught_before_merging():
    def handle(request):
        docs = json.loads(request.content)["documents"]
        # Index 4 would be a valid position in the whole call, never in a 4-document chunk.
        return httpx.Response(
            200, json={"results": [{"index": i + 1, "score": 1.0} for i in range(len(docs))]}
        )

    with pytest.raises(InvalidResponseError, match="index 4 is not a position in the 4"):
        make(handle).rerank("echo/m", "q", ["a"] * 8, max_documents_per_request=4)


async def test_async_failed_chunk_cancels_the_chunks_in_flight():
    cancelled: list[str] = []
    inner = scorer()

    async def handle(request):
        docs = json.loads(request.content)["documents"]
        if "bad" in docs:
            return httpx.Response(400, json={"detail": "no"})
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(docs[0])
            raise
        return inner(request)

    docs = ["a0", "a1", "bad", "a3", "a4", "a5"]
    async with AsyncClient(transport=httpx.MockTransport(handle), registry=registry()) as client:
        started = time.monotonic()
        with pytest.raises(BadRequestError) as info:
            await client.rerank("echo/m", "q", docs, max_documents_per_request=2)
    assert time.monotonic() - started < 5
    assert info.value.document_range == (2, 4)
    assert sorted(cancelled) == ["a0", "a4"]


def test_over_long_document_is_named_in_the_error():
    def handle(request):
        docs = json.loads(request.content)["documents"]
        if any(len(d) > 1000 for d in docs):
            return httpx.Response(
                400, json={"detail": "Input length 9000 exceeds maximum allowed token size 8192"}
            )
        return scorer()(request)

    docs = ["short"] * 9 + ["word " * 2000] + ["tiny"] * 3
    with pytest.raises(BadRequestError) as info:
        make(handle).rerank("echo/m", "q", docs, max_documents_per_request=5)
    assert info.value.document_index == 9 and info.value.document_range == (5, 10)
    assert "most likely documents[9]" in str(info.value)
    with pytest.raises(BadRequestError) as single:
        make(handle).rerank("echo/m", "q", ["word " * 2000])
    assert "documents[0] is too long" in str(single.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=st.lists(st.text(max_size=12), min_size=1, max_size=60),
    limit=st.integers(min_value=1, max_value=25),
    concurrency=st.integers(min_value=1, max_value=6),
    top_n=st.none() | st.integers(min_value=1, max_value=70),
)
def test_property_chunked_equals_unchunked(docs, limit, concurrency, top_n):
    client = make()
    whole = client.rerank("echo/m", "query", docs, top_n=top_n)
    chunked = client.rerank(
        "echo/m",
        "query",
        docs,
        top_n=top_n,
        max_documents_per_request=limit,
        max_concurrency=concurrency,
    )
    assert dump(chunked) == dump(whole)


@settings(max_examples=25, deadline=None)
@given(
    docs=st.lists(st.text(max_size=8), min_size=1, max_size=40),
    limit=st.integers(min_value=1, max_value=15),
)
def test_property_async_chunked_equals_sync_unchunked(docs, limit):
    async def run():
        async with AsyncClient(
            transport=httpx.MockTransport(scorer()), registry=registry()
        ) as client:
            return await client.rerank("echo/m", "q", docs, max_documents_per_request=limit)

    assert dump(asyncio.run(run())) == dump(make().rerank("echo/m", "q", docs))
