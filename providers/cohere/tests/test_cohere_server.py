"""rerankit against a real HTTP server on 127.0.0.1 speaking Cohere's v2 and v1 rerank wire.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import httpx
import pytest

import rerankit
from rerankit.errors import BadRequestError, RateLimitError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "co_test_key_never_logged"
QUERY = "capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada",
    "Washington D.C. is the capital of the united states",
    "Capital punishment has existed in the united states since before it was a country",
]


def cohere(seen: Seen) -> Reply:
    """Cohere's answer; v2 never returns documents, v1 only when asked."""
    body = seen.json
    pairs = ranked(body["query"], body["documents"], body.get("top_n"))
    results = []
    for i, s in pairs:
        item: dict = {"index": i, "relevance_score": s}
        if seen.path == "/v1/rerank" and body.get("return_documents"):
            item["document"] = {"text": body["documents"][i]}
        results.append(item)
    version = seen.path.split("/")[1]
    return Reply(
        200,
        {
            "id": "cohere-answer-1",
            "results": results,
            "meta": {"api_version": {"version": version}, "billed_units": {"search_units": 1}},
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(cohere) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = cohere
    server.clear()
    for name in ("COHERE_API_KEY", "CO_API_KEY", "COHERE_API_BASE", "CO_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_v2_round_trip(server, client):
    r = client.rerank(
        "cohere/rerank-v3.5",
        QUERY,
        DOCS,
        top_n=2,
        max_tokens_per_doc=256,
        api_base=server.url,
        api_key=KEY,
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[r.results[0].index]
    assert r.id == "cohere-answer-1"
    assert r.meta.usage["billed_units"] == {"search_units": 1}
    (sent,) = server.requests
    assert sent.path == "/v2/rerank"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "rerank-v3.5",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "max_tokens_per_doc": 256,
    }


def test_v1_round_trip_from_env(server, monkeypatch):
    monkeypatch.setenv("CO_API_URL", server.url)
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    r = rerankit.rerank("cohere/v1/rerank-english-v3.0", QUERY, DOCS, max_chunks_per_doc=2)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    (sent,) = server.requests
    assert sent.path == "/v1/rerank"
    assert sent.json == {
        "model": "rerank-english-v3.0",
        "query": QUERY,
        "documents": DOCS,
        "return_documents": False,
        "max_chunks_per_doc": 2,
    }


def test_the_official_sdks_variables_alone_are_enough(server, monkeypatch, client):
    # A user of the cohere SDK has CO_API_KEY and CO_API_URL set, not COHERE_API_KEY.
    monkeypatch.setenv("CO_API_KEY", KEY)
    monkeypatch.setenv("CO_API_URL", server.url)
    r = client.rerank("cohere/rerank-v3.5", QUERY, DOCS)
    assert len(r.results) == 3
    (sent,) = server.requests
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_cohere_api_key_wins_over_co_api_key(server, monkeypatch, client):
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.setenv("CO_API_KEY", "co-other-key")
    client.rerank("cohere/rerank-v3.5", QUERY, DOCS, api_base=server.url)
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_co_api_key_satisfies_the_hosted_key_rule(monkeypatch):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"index": 0, "relevance_score": 0.9}]})

    monkeypatch.setenv("CO_API_KEY", KEY)
    with rerankit.Client(transport=httpx.MockTransport(handler), max_retries=0) as c:
        c.rerank("cohere/rerank-v3.5", QUERY, DOCS[:1])
    assert str(seen[0].url) == "https://api.cohere.com/v2/rerank"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_cohere_api_base_is_read_before_co_api_url(server, monkeypatch, client):
    monkeypatch.setenv("COHERE_API_BASE", server.url)
    monkeypatch.setenv("CO_API_URL", "http://127.0.0.1:9")  # nothing listens there
    r = client.rerank("cohere/rerank-v3.5", QUERY, DOCS, api_key=KEY)
    assert len(r.results) == 3


def test_429_carries_retry_after(server, client):
    server.handler = lambda seen: Reply(
        429, {"message": "You are using a Trial key"}, {"Retry-After": "7"}
    )
    with pytest.raises(RateLimitError, match="Trial key") as info:
        client.rerank("cohere/rerank-v3.5", QUERY, DOCS, api_base=server.url, api_key=KEY)
    assert info.value.retry_after == 7.0
    assert KEY not in str(info.value)


def test_400_with_non_json_body(server, client):
    server.handler = lambda seen: Reply(400, b"bad request\xff")
    with pytest.raises(BadRequestError) as info:
        client.rerank("cohere/rerank-v3.5", QUERY, DOCS, api_base=server.url, api_key=KEY)
    assert info.value.status_code == 400


def test_call_above_the_limit_is_split(server, client):
    docs = [f"document {i} about the united states" for i in range(1001)]
    r = client.rerank("cohere/rerank-v3.5", QUERY, docs, api_base=server.url, api_key=KEY)
    assert sorted(x.index for x in r.results) == list(range(1001))
    assert len(server.requests) == 2
    assert all(len(s.json["documents"]) <= 1000 for s in server.requests)
