"""The official Cohere Python SDK, unchanged, pointed at the proxy with base_url."""

from __future__ import annotations

import cohere
import pytest

from tests.fakes.nim_server import score
from tests.proxy.conftest import DOCS, MASTER, QUERY, TEAM_KEY


def best_first(query: str, docs: list[str]) -> list[int]:
    return sorted(range(len(docs)), key=lambda i: (-score(query, docs[i]), i))


def test_v2_client_reranks(proxy, nim):
    co = cohere.ClientV2(api_key=TEAM_KEY, base_url=proxy.url, max_retries=0)
    response = co.rerank(model="nim", query=QUERY, documents=DOCS, top_n=2)
    assert [r.index for r in response.results] == best_first(QUERY, DOCS)[:2]
    assert response.results[0].relevance_score == pytest.approx(
        score(QUERY, DOCS[response.results[0].index])
    )
    assert response.id
    assert nim.requests[-1].json["passages"] == [{"text": d} for d in DOCS]


def test_v1_client_reranks_with_documents(proxy):
    co = cohere.Client(api_key=MASTER, base_url=proxy.url, max_retries=0)
    response = co.rerank(
        model="bm25",
        query="memory bandwidth",
        documents=["cats and dogs", "H100 memory bandwidth", {"text": "memory"}],
        return_documents=True,
    )
    assert response.results[0].index == 1
    assert response.results[0].document.text == "H100 memory bandwidth"
    assert len(response.results) == 3


def test_sdk_sees_the_proxy_errors_as_its_own(proxy):
    bad = cohere.ClientV2(api_key="sk-not-a-key-0000", base_url=proxy.url, max_retries=0)
    with pytest.raises(cohere.errors.UnauthorizedError):
        bad.rerank(model="nim", query="q", documents=["d"])
    team = cohere.ClientV2(api_key=TEAM_KEY, base_url=proxy.url, max_retries=0)
    with pytest.raises(cohere.errors.ForbiddenError):
        team.rerank(model="pair", query="q", documents=["d"])
    with pytest.raises(cohere.errors.UnprocessableEntityError):
        team.rerank(model="nim", query="q", documents=["d"], max_tokens_per_doc=10)


async def test_async_v2_client_reranks(proxy):
    co = cohere.AsyncClientV2(api_key=TEAM_KEY, base_url=proxy.url, max_retries=0)
    response = await co.rerank(model="bm25", query="memory", documents=["cats", "memory"])
    assert response.results[0].index == 1
