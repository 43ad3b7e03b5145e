"""rerankit against a real HTTP server on 127.0.0.1 speaking Together AI's rerank wire.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import NotFoundError, ServerError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "tg_test_key_never_logged"
MODEL = "together_ai/Salesforce/Llama-Rank-V1"
QUERY = "animals near peru"
DOCS = [
    "The giant panda lives in China",
    "The llama lives near peru and other andean countries",
    "Animals of the andes include the guanaco",
]


def together(seen: Seen) -> Reply:
    body = seen.json
    pairs = ranked(body["query"], body["documents"], body.get("top_n"))
    return Reply(
        200,
        {
            "object": "rerank",
            "id": "tg-answer-1",
            "model": "salesforce/turboranker-0.8-3778-6328",
            "results": [
                {"index": i, "relevance_score": s, "document": {"text": body["documents"][i]}}
                for i, s in pairs
            ],
            "usage": {"prompt_tokens": 40, "completion_tokens": 0, "total_tokens": 40},
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(together) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = together
    server.clear()
    for name in (
        "TOGETHER_API_KEY",
        "TOGETHER_API_BASE",
        "TOGETHERAI_API_BASE",
        "TOGETHER_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(MODEL, QUERY, DOCS, top_n=2, api_base=server.url, api_key=KEY)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.id == "tg-answer-1"
    assert r.model == MODEL
    (sent,) = server.requests
    assert sent.path == "/v1/rerank"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "Salesforce/Llama-Rank-V1",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "return_documents": False,
    }


def test_second_env_var_for_the_base(server, monkeypatch):
    monkeypatch.setenv("TOGETHERAI_API_BASE", server.url)
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    r = rerankit.rerank(MODEL, QUERY, DOCS)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]


def test_the_sdks_base_url_variable_with_its_v1(server, monkeypatch):
    # together-py's TOGETHER_BASE_URL includes /v1; the path must not double it.
    monkeypatch.setenv("TOGETHER_BASE_URL", server.url + "/v1")
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    rerankit.rerank(MODEL, QUERY, DOCS)
    assert server.requests[-1].path == "/v1/rerank"


def test_404_for_an_unknown_model(server, client):
    server.handler = lambda seen: Reply(
        404, {"error": {"message": "Unable to access model", "type": "invalid_request_error"}}
    )
    with pytest.raises(NotFoundError, match="Unable to access model"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)


def test_503_html(server, client):
    server.handler = lambda seen: Reply(503, "<html>Service Unavailable</html>")
    with pytest.raises(ServerError):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)
