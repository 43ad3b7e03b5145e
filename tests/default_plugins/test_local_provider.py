"""`local/bm25` through the public API: found by entry point, offline, unified shape."""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import InvalidModelError, InvalidParameterError

DOCS = ["H100 delivers 3TB/s of memory bandwidth", "A100 has 2TB/s", "bananas are yellow"]


def test_ranks_lexically_relevant_first():
    r = rerankit.rerank("local/bm25", "memory bandwidth of the H100", DOCS)
    assert r.results[0].index == 0
    assert r.results[-1].relevance_score == 0.0
    assert r.meta.score_kind == "bm25" and r.model == "local/bm25"


async def test_async_equals_sync():
    a = await rerankit.arerank("local/bm25", "A100 bandwidth", DOCS, top_n=2)
    s = rerankit.rerank("local/bm25", "A100 bandwidth", DOCS, top_n=2)
    assert a.model_dump(exclude={"id"}) == s.model_dump(exclude={"id"})
    assert len(a.results) == 2


def test_parameters_change_scores_and_are_validated():
    base = rerankit.rerank("local/bm25", "bandwidth", DOCS).results[0].relevance_score
    tuned = rerankit.rerank("local/bm25", "bandwidth", DOCS, k1=0.5, b=0).results[0]
    assert tuned.relevance_score != base
    with pytest.raises(InvalidParameterError, match="'b' must be <= 1"):
        rerankit.rerank("local/bm25", "q", DOCS, b=2)
    with pytest.raises(InvalidParameterError, match="'k1' must be int or float"):
        rerankit.rerank("local/bm25", "q", DOCS, k1="high")


def test_unknown_local_model():
    with pytest.raises(InvalidModelError, match="local/bm25"):
        rerankit.rerank("local/bm26", "q", DOCS)


def test_no_key_and_no_http_client_needed():
    client = rerankit.Client()
    client.rerank("local/bm25", "q", DOCS)
    assert client._http is None
