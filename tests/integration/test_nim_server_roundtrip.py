"""rerankit against a real HTTP server on 127.0.0.1 speaking NIM's exact wire format.

The NIM plugin is found through its installed entry point; the tests never import it.
"""

from __future__ import annotations

import logging

import pytest

import rerankit
from rerankit.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    MissingApiKeyError,
    NotFoundError,
    ProviderConnectionError,
)
from tests.conftest import NIM_KEY
from tests.fakes.nim_server import score

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
QUERY = "What is the GPU memory bandwidth of H100 SXM?"
DOCS = [
    "The Hopper GPU is paired with the Grace CPU using NVIDIA's ultra-fast chip-to-chip "
    "interconnect, delivering 900GB/s of bandwidth.",
    "A100 provides up to 20X higher performance over the prior generation.",
    "Accelerated servers with H100 deliver 3 terabytes per second (TB/s) of memory "
    "bandwidth per GPU.",
]


def expected_order(query: str, docs: list[str]) -> list[int]:
    scores = [score(query, d) for d in docs]
    return sorted(range(len(docs)), key=lambda i: (-scores[i], i))


def test_hosted_form_round_trip(nim):
    with rerankit.Client() as client:
        r = client.rerank(
            MODEL, QUERY, DOCS, top_n=2, truncate="END", api_base=nim.url, api_key=NIM_KEY
        )
    assert [x.index for x in r.results] == expected_order(QUERY, DOCS)[:2]
    assert r.results[0].relevance_score == pytest.approx(score(QUERY, DOCS[r.results[0].index]))
    assert r.results[0].document.text == DOCS[r.results[0].index]
    sent = nim.requests[-1]
    assert sent.path == "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    assert sent.headers["authorization"] == f"Bearer {NIM_KEY}"
    assert sent.json == {
        "model": "nvidia/llama-3.2-nv-rerankqa-1b-v2",
        "query": {"text": QUERY},
        "passages": [{"text": d} for d in DOCS],
        "truncate": "END",
    }


def test_env_base_and_key(nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url + "/v1/")
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    r = rerankit.Client().rerank(MODEL, QUERY, DOCS)
    assert len(r.results) == 3
    assert nim.requests[-1].path.endswith("/reranking")


def test_rerank_specific_base_wins_over_shared_one(nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", "http://127.0.0.1:9/unused")
    monkeypatch.setenv("NVIDIA_NIM_RERANK_API_BASE", nim.url)
    r = rerankit.Client().rerank(MODEL, QUERY, DOCS, api_key=NIM_KEY)
    assert len(r.results) == 3


def test_full_url_base_used_as_is(nim):
    full = f"{nim.url}/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    rerankit.Client().rerank(MODEL, QUERY, DOCS, api_base=full, api_key=NIM_KEY)
    assert nim.requests[-1].path == "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"


def test_self_hosted_ranking_without_key(open_nim_server):
    open_nim_server.clear()
    r = rerankit.Client().rerank(
        "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2",
        QUERY,
        DOCS,
        api_base=open_nim_server.url,
        return_documents=False,
    )
    assert [x.index for x in r.results] == expected_order(QUERY, DOCS)
    assert all(x.document is None for x in r.results)
    sent = open_nim_server.requests[-1]
    assert sent.path == "/v1/ranking" and "authorization" not in sent.headers


def test_shared_path_mistral_model(nim):
    rerankit.Client().rerank(
        "nvidia_nim/nvidia/rerank-qa-mistral-4b", QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY
    )
    assert nim.requests[-1].path == "/v1/retrieval/nvidia/reranking"
    assert nim.requests[-1].json["model"] == "nv-rerank-qa-mistral-4b:1"


def test_wrong_key_is_authentication_error_without_the_key(nim):
    with pytest.raises(AuthenticationError) as info:
        rerankit.Client().rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key="nvapi-wrong")
    assert info.value.status_code == 401
    assert "nvapi-wrong" not in str(info.value) + repr(info.value) + str(info.value.body)


def test_missing_key_for_hosted_api_names_env_var():
    with pytest.raises(MissingApiKeyError, match="NVIDIA_NIM_API_KEY"):
        rerankit.Client().rerank(MODEL, QUERY, DOCS)


def test_overlong_input_without_truncation_is_bad_request(nim):
    long_doc = "word " * 9000
    with pytest.raises(BadRequestError, match="exceeds maximum allowed token size"):
        rerankit.Client().rerank(
            MODEL, QUERY, [long_doc], truncate="NONE", api_base=nim.url, api_key=NIM_KEY
        )
    r = rerankit.Client().rerank(
        MODEL, QUERY, [long_doc], truncate="END", api_base=nim.url, api_key=NIM_KEY
    )
    assert len(r.results) == 1


def test_invalid_truncate_is_rejected_before_sending(nim):
    with pytest.raises(InvalidRequestError, match="'NONE', 'END'"):
        rerankit.Client().rerank(
            MODEL, QUERY, DOCS, truncate="START", api_base=nim.url, api_key=NIM_KEY
        )
    assert nim.requests == []


def test_more_than_512_passages_are_split_into_requests_of_at_most_512(nim):
    docs = [f"doc {i} about H100 bandwidth" if i % 7 else f"doc {i}" for i in range(513)]
    r = rerankit.Client().rerank(MODEL, QUERY, docs, api_base=nim.url, api_key=NIM_KEY)
    assert sorted(len(req.json["passages"]) for req in nim.requests) == [1, 512]
    assert [x.index for x in r.results] == expected_order(QUERY, docs)
    assert r.meta.chunks == 2


def test_unknown_model_path_is_not_found(nim):
    with pytest.raises(NotFoundError):
        rerankit.Client().rerank(
            MODEL, QUERY, DOCS, api_base=nim.url + "/nope/v1/ranking/x", api_key=NIM_KEY
        )


def test_connection_refused_is_typed():
    with pytest.raises(ProviderConnectionError, match="Could not reach Nvidia NIM"):
        rerankit.Client(timeout=5).rerank(
            MODEL, QUERY, DOCS, api_base="http://127.0.0.1:9", api_key=NIM_KEY
        )


def test_connections_are_pooled_and_reused(nim):
    before = nim.connections_opened
    with rerankit.Client() as client:
        for _ in range(5):
            client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    assert nim.connections_opened - before == 1


async def test_async_round_trip_matches_sync(nim):
    async with rerankit.AsyncClient() as client:
        r = await client.rerank(MODEL, QUERY, DOCS, top_n=3, api_base=nim.url, api_key=NIM_KEY)
    s = rerankit.Client().rerank(MODEL, QUERY, DOCS, top_n=3, api_base=nim.url, api_key=NIM_KEY)
    assert r.model_dump(exclude={"id"}) == s.model_dump(exclude={"id"})


async def test_module_level_arerank_and_rerank_share_clients(nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    before = nim.connections_opened
    for _ in range(3):
        await rerankit.arerank(MODEL, QUERY, DOCS)
    assert nim.connections_opened - before == 1


@pytest.mark.parametrize("transport", ["default", "httpx"])
def test_key_never_reaches_logs(nim, caplog, monkeypatch, transport):
    monkeypatch.setenv("RERANKIT_SYNC_TRANSPORT", transport)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError):
        rerankit.Client().rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key="nvapi-leak-me")
    rerankit.Client().rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    if transport == "httpx":
        assert caplog.records  # httpx logs each request at DEBUG/INFO
    assert "nvapi-leak-me" not in caplog.text and NIM_KEY not in caplog.text
