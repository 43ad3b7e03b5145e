"""rerankit against a real HTTP server on 127.0.0.1 speaking Jina AI's rerank wire format.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import AuthenticationError, InvalidResponseError, ServerError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "jina_test_key_never_logged"
MODEL = "jina_ai/jina-reranker-v2-base-multilingual"
QUERY = "capital of france"
DOCS = [
    "Berlin is the capital of Germany",
    "Paris is the capital of France",
    "France is a country in Europe",
    "Bananas are yellow",
]


def jina(seen: Seen) -> Reply:
    """Jina's answer: results best first, cut to top_n, documents echoed as objects."""
    body = seen.json
    pairs = ranked(body["query"], body["documents"], body.get("top_n"))
    return Reply(
        200,
        {
            "model": body["model"],
            "usage": {"total_tokens": 42, "prompt_tokens": 42},
            "results": [
                {"index": i, "document": {"text": body["documents"][i]}, "relevance_score": s}
                for i, s in pairs
            ],
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(jina) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = jina
    server.clear()
    for name in ("JINA_API_KEY", "JINA_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(MODEL, QUERY, DOCS, top_n=2, api_base=server.url, api_key=KEY)
    expected = ranked(QUERY, DOCS, 2)
    assert [(x.index, x.relevance_score) for x in r.results] == expected
    assert [x.document.text for x in r.results] == [DOCS[i] for i, _ in expected]
    assert r.meta.provider == "jina_ai"
    assert r.meta.score_kind == "probability"
    assert r.meta.usage == {"total_tokens": 42, "prompt_tokens": 42}
    (sent,) = server.requests
    assert sent.path == "/v1/rerank"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.json == {
        "model": "jina-reranker-v2-base-multilingual",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "return_documents": False,
    }


def test_env_base_and_key_through_module_level_rerank(server, monkeypatch):
    monkeypatch.setenv("JINA_API_BASE", server.url + "/v1")
    monkeypatch.setenv("JINA_API_KEY", KEY)
    r = rerankit.rerank(MODEL, QUERY, DOCS, return_documents=False)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert all(x.document is None for x in r.results)
    assert server.requests[-1].path == "/v1/rerank"
    assert "top_n" not in server.requests[-1].json


async def test_async_client(server):
    async with rerankit.AsyncClient(timeout=10) as client:
        r = await client.rerank(MODEL, QUERY, DOCS, top_n=1, api_base=server.url, api_key=KEY)
    assert [x.index for x in r.results] == [ranked(QUERY, DOCS)[0][0]]


def test_upstream_401_is_authentication_error_without_the_key(server, client):
    server.handler = lambda seen: Reply(401, {"detail": "Invalid API key"})
    with pytest.raises(AuthenticationError, match="Invalid API key") as info:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


def test_html_502_from_a_load_balancer_is_server_error(server, client):
    server.handler = lambda seen: Reply(502, "<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(ServerError) as info:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)
    assert info.value.status_code == 502


def test_out_of_range_index_is_invalid_response(server, client):
    server.handler = lambda seen: Reply(200, {"results": [{"index": 9, "relevance_score": 0.5}]})
    with pytest.raises(InvalidResponseError, match="index 9"):
        client.rerank(MODEL, QUERY, DOCS, top_n=1, api_base=server.url, api_key=KEY)


def test_missing_key_for_the_hosted_api_names_the_env_var(client):
    with pytest.raises(rerankit.MissingApiKeyError, match="JINA_API_KEY"):
        client.rerank(MODEL, QUERY, DOCS)
