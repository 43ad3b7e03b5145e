"""Cohere's optional request fields as real clients send them (issue 13).

LangChain's `CohereRerank` sends `max_tokens_per_doc: null` on every call (its own test:
test_langchain_cohere.py); Cohere's `priority`, `metadata` and `user` come from other
clients. Against the session's real `rerankit serve`, and a second one with a Cohere
deployment in front of a fake Cohere server, to see which fields reach a provider that
takes them.
"""

from __future__ import annotations

from collections.abc import Iterator

import cohere
import httpx
import pytest

from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked
from tests.proxy.conftest import MASTER, ProxyProcess

BM25_DOCS = ["cats and dogs", "H100 memory bandwidth", "memory of a goldfish"]
MARKER = "zq-private-marker-7731"


def test_null_means_not_sent_for_every_optional_field(client):
    body = {
        "model": "bm25",
        "query": "memory",
        "documents": BM25_DOCS,
        "top_n": None,
        "return_documents": None,
        "rank_fields": None,
        "params": None,
        "max_tokens_per_doc": None,
        "max_chunks_per_doc": None,
        "priority": None,
        "metadata": None,
        "user": None,
        "k1": None,
    }
    for path in ("/rerank", "/v1/rerank", "/v2/rerank"):
        r = client.post(path, json=body)
        assert r.status_code == 200, (path, r.text)
        assert len(r.json()["results"]) == 3
    nim_shape = {
        "model": "bm25",
        "query": {"text": "memory"},
        "passages": [{"text": d} for d in BM25_DOCS],
        "truncate": None,
    }
    r = client.post("/v1/ranking", json=nim_shape)
    assert r.status_code == 200, r.text
    nested = client.post(
        "/v2/rerank",
        json={"model": "bm25", "query": "memory", "documents": ["m"], "params": {"k1": None}},
    )
    assert nested.status_code == 200, nested.text


def test_the_openapi_document_says_every_optional_field_may_be_null(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    valid = {
        "RerankRequest": ("/v2/rerank", {"model": "bm25", "query": "q", "documents": ["q"]}),
        "RankingRequest": (
            "/v1/ranking",
            {"model": "bm25", "query": {"text": "q"}, "passages": [{"text": "q"}]},
        ),
    }
    for name, (path, body) in valid.items():
        schema = schemas[name]
        optional = set(schema["properties"]) - set(schema["required"])
        assert optional
        for field in optional:
            assert "null" in schema["properties"][field]["type"], (name, field)
            r = client.post(path, json={**body, field: None})
            assert r.status_code == 200, (name, field, r.text)


def test_priority_is_dropped_for_a_provider_without_it_but_checked(client, nim):
    r = client.post(
        "/v2/rerank", json={"model": "nim", "query": "memory", "documents": ["m"], "priority": 5}
    )
    assert r.status_code == 200, r.text
    assert "priority" not in nim.requests[-1].json
    for bad in (-1, "high", True):
        r = client.post(
            "/v2/rerank", json={"model": "bm25", "query": "q", "documents": ["d"], "priority": bad}
        )
        assert r.status_code == 422, (bad, r.text)
        assert "'priority'" in r.json()["error"]["message"]


def test_metadata_and_user_are_accepted_and_never_logged_passed_or_labelled(proxy, client, nim):
    body = {
        "model": "nim",
        "query": "memory",
        "documents": ["memory"],
        "metadata": {"team": MARKER},
        "user": MARKER,
    }
    r = client.post("/v2/rerank", json=body)
    assert r.status_code == 200, r.text
    sent = nim.requests[-1].json
    assert "metadata" not in sent and "user" not in sent
    assert MARKER not in client.get("/metrics").text
    assert MARKER not in proxy.log() + proxy.stdout()


def test_max_tokens_per_doc_is_refused_for_a_provider_without_it(client):
    r = client.post(
        "/v2/rerank",
        json={"model": "nim", "query": "q", "documents": ["d"], "max_tokens_per_doc": 5},
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "unsupported"
    assert (
        "'max_tokens_per_doc' is not supported by the provider of model 'nim'" in (error["message"])
    )
    assert "truncate" in error["message"]  # what this provider offers instead


def _cohere_v2(seen: Seen) -> Reply:
    body = seen.json
    results = ranked(body["query"], body["documents"], body.get("top_n"))
    return Reply(
        200,
        {
            "id": "co-1",
            "results": [{"index": i, "relevance_score": s} for i, s in results],
            "meta": {"billed_units": {"search_units": 1}},
        },
    )


@pytest.fixture(scope="module")
def cohere_upstream() -> Iterator[FakeRerankServer]:
    with FakeRerankServer(_cohere_v2) as server:
        yield server


@pytest.fixture(scope="module")
def cohere_proxy(tmp_path_factory, cohere_upstream) -> Iterator[ProxyProcess]:
    config = {
        "model_list": [
            {
                "model_name": "co",
                "litellm_params": {
                    "model": "cohere/rerank-v3.5",
                    "api_key": "co-test-key-0001",
                    "api_base": cohere_upstream.url,
                },
            }
        ],
        "general_settings": {"master_key": MASTER},
    }
    env = {"RERANKIT_LOAD_PLUGINS": "cohere,proxy"}
    process = ProxyProcess(tmp_path_factory.mktemp("cohere-proxy"), config, env=env)
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def test_cohere_fields_reach_a_provider_that_takes_them(cohere_proxy, cohere_upstream):
    co = cohere.ClientV2(api_key=MASTER, base_url=cohere_proxy.url, max_retries=0)
    response = co.rerank(
        model="co", query="memory bandwidth", documents=BM25_DOCS, top_n=1, max_tokens_per_doc=7
    )
    assert [r.index for r in response.results] == [1]
    sent = cohere_upstream.requests[-1].json
    assert sent["max_tokens_per_doc"] == 7
    r = httpx.post(
        f"{cohere_proxy.url}/v2/rerank",
        headers={"Authorization": f"Bearer {MASTER}"},
        json={"model": "co", "query": "memory", "documents": ["m"], "priority": 3, "user": "u"},
    )
    assert r.status_code == 200, r.text
    sent = cohere_upstream.requests[-1].json
    assert sent["priority"] == 3
    assert "user" not in sent
    bad = httpx.post(
        f"{cohere_proxy.url}/v2/rerank",
        headers={"Authorization": f"Bearer {MASTER}"},
        json={"model": "co", "query": "q", "documents": ["d"], "max_tokens_per_doc": 0},
    )
    assert bad.status_code == 422, bad.text
    assert "max_tokens_per_doc" in bad.json()["error"]["message"]
