"""Large document sets split across requests to the fake NIM, and fallbacks to local/bm25."""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import BadRequestError, ServerError
from tests.conftest import NIM_KEY
from tests.fakes.nim_server import score

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
QUERY = "memory bandwidth of the H100 GPU"
WORDS = ["memory", "bandwidth", "H100", "GPU", "of", "cooking", "A100", "the", "tensor"]


def corpus(n: int) -> list[str]:
    return [
        " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(i % 5 + 1)) + f" #{i}"
        for i in range(n)
    ]


def expected(docs: list[str]) -> list[tuple[int, float]]:
    scores = [score(QUERY, d) for d in docs]
    order = sorted(range(len(docs)), key=lambda i: (-scores[i], i))
    return [(i, scores[i]) for i in order]


def pairs(response) -> list[tuple[int, float]]:
    return [(r.index, r.relevance_score) for r in response.results]


def test_ten_thousand_documents_merge_to_the_one_request_ranking(nim):
    docs = corpus(10_000)
    with rerankit.Client() as client:
        r = client.rerank(MODEL, QUERY, docs, api_base=nim.url, api_key=NIM_KEY)
    assert pairs(r) == expected(docs)
    assert len(nim.requests) == 20 and max(len(q.json["passages"]) for q in nim.requests) == 512
    assert r.meta.chunks == 20 and r.meta.attempts == 20
    assert all(r.results[k].document.text == docs[r.results[k].index] for k in (0, 5000, 9999))


async def test_ten_thousand_documents_async_with_top_n(nim):
    docs = corpus(10_000)
    async with rerankit.AsyncClient() as client:
        r = await client.rerank(MODEL, QUERY, docs, top_n=25, api_base=nim.url, api_key=NIM_KEY)
    assert pairs(r) == expected(docs)[:25]


def test_sequential_chunks_give_the_same_answer(nim):
    docs = corpus(1500)
    with rerankit.Client() as client:
        r = client.rerank(MODEL, QUERY, docs, max_concurrency=1, api_base=nim.url, api_key=NIM_KEY)
    assert pairs(r) == expected(docs)


def test_a_fault_in_one_chunk_is_retried_on_its_own(nim):
    docs = corpus(2000)
    nim.enqueue_faults(["status:503", "reset", "429:0"])
    with rerankit.Client(retry_backoff=0.01) as client:
        r = client.rerank(MODEL, QUERY, docs, api_base=nim.url, api_key=NIM_KEY)
    assert pairs(r) == expected(docs)
    assert r.meta.attempts == 4 + 3 and len(nim.requests) == 7


def test_a_chunk_failing_after_retries_fails_the_call_with_its_range(nim):
    docs = corpus(2000)
    nim.enqueue_faults(["status:503"] * 3)
    with (
        rerankit.Client(retry_backoff=0.01, max_concurrency=1) as client,
        pytest.raises(ServerError) as info,
    ):
        client.rerank(MODEL, QUERY, docs, api_base=nim.url, api_key=NIM_KEY)
    assert info.value.document_range == (0, 512)
    assert "documents 0..511 of 2000 failed" in str(info.value)
    assert len(nim.requests) == 3  # sequential: the later chunks were never sent


def test_over_long_document_is_named_without_truncation_and_cut_with_it(nim):
    docs = corpus(1000)
    docs[700] = "word " * 9000
    with rerankit.Client() as client:
        with pytest.raises(BadRequestError, match="exceeds maximum allowed token size") as info:
            client.rerank(MODEL, QUERY, docs, truncate="NONE", api_base=nim.url, api_key=NIM_KEY)
        assert info.value.document_index == 700 and info.value.document_range == (512, 1000)
        assert "most likely documents[700]" in str(info.value)
        r = client.rerank(MODEL, QUERY, docs, truncate="END", api_base=nim.url, api_key=NIM_KEY)
    assert len(r.results) == 1000


def test_nim_outage_falls_back_to_local_bm25(nim):
    nim.enqueue_faults(["status:503"] * 3)
    docs = ["H100 delivers 3 TB/s of memory bandwidth", "a cooking recipe"]
    with rerankit.Client(retry_backoff=0.01) as client:
        r = client.rerank(
            MODEL,
            QUERY,
            docs,
            truncate="END",
            fallbacks=["local/bm25"],
            api_base=nim.url,
            api_key=NIM_KEY,
        )
    assert r.model == "local/bm25" and r.meta.score_kind == "bm25"
    assert r.results[0].index == 0
    assert r.meta.fallbacks_tried == [
        {"model": MODEL, "error": "ServerError", "status_code": 503, "attempts": 3}
    ]


async def test_nim_hang_falls_back_to_local_bm25_after_the_deadline(nim):
    nim.enqueue_faults(["hang"] * 3)
    async with rerankit.AsyncClient(fallbacks=["local/bm25"]) as client:
        r = await client.rerank(
            MODEL,
            QUERY,
            ["GPU memory bandwidth", "cooking"],
            timeout=0.5,
            api_base=nim.url,
            api_key=NIM_KEY,
        )
    assert r.model == "local/bm25"
    assert r.meta.fallbacks_tried[0]["error"] == "ProviderTimeoutError"


def test_bad_request_to_nim_does_not_fall_back(nim):
    nim.enqueue_faults(["status:400"])
    with rerankit.Client() as client, pytest.raises(BadRequestError):
        client.rerank(
            MODEL, QUERY, ["a"], fallbacks=["local/bm25"], api_base=nim.url, api_key=NIM_KEY
        )
