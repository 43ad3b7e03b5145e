"""rerankit against a real HTTP server on 127.0.0.1 speaking Infinity's `/rerank` wire.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import BadRequestError, InvalidResponseError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

QUERY = "where is paris"
MODEL = "infinity/mixedbread-ai/mxbai-rerank-xsmall-v1"
DOCS = ["Paris is in France", "Rome is in Italy", "where the river flows", "Paris Hilton"]


def infinity(seen: Seen) -> Reply:
    """Infinity's answer: `results`, `document` a string or null."""
    body = seen.json
    if len(body["documents"]) > 2048:
        return Reply(422, {"detail": [{"msg": "List should have at most 2048 items"}]})
    pairs = ranked(body["query"], body["documents"], body.get("top_n"))
    results = [
        {
            "relevance_score": s,
            "index": i,
            "document": body["documents"][i] if body.get("return_documents") else None,
        }
        for i, s in pairs
    ]
    return Reply(
        200,
        {
            "object": "rerank",
            "results": results,
            "model": body["model"],
            "usage": {"prompt_tokens": 12, "total_tokens": 12},
            "id": "infinity-abc",
            "created": 1700000000,
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(infinity) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = infinity
    server.clear()
    for name in ("INFINITY_API_KEY", "INFINITY_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(MODEL, QUERY, DOCS, top_n=2, api_base=server.url)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.id == "infinity-abc"
    assert r.meta.score_kind == "probability"
    (sent,) = server.requests
    assert sent.path == "/rerank"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "return_documents": False,
    }


def test_env_base_key_and_raw_scores(server, monkeypatch):
    monkeypatch.setenv("INFINITY_API_BASE", server.url)
    monkeypatch.setenv("INFINITY_API_KEY", "inf_key_never_logged")
    r = rerankit.rerank(MODEL, QUERY, DOCS, raw_scores=True)
    assert r.meta.score_kind == "logit"
    sent = server.requests[-1]
    assert sent.json["raw_scores"] is True
    assert sent.headers["authorization"] == "Bearer inf_key_never_logged"


def test_older_data_key_works(server, client):
    server.handler = lambda seen: Reply(
        200,
        {
            "object": "rerank",
            "data": [{"index": i, "relevance_score": 1.0 / (i + 1)} for i in range(len(DOCS))],
        },
    )
    r = client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert [x.index for x in r.results] == [0, 1, 2, 3]


def test_fastapi_validation_error_list(server, client):
    server.handler = lambda seen: Reply(422, {"detail": [{"msg": "field required"}]})
    with pytest.raises(BadRequestError, match="field required"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)


def test_nan_score_is_invalid(server, client):
    server.handler = lambda seen: Reply(
        200,
        b'{"results": [{"index": 0, "relevance_score": NaN}, {"index": 1, "relevance_score": 1},'
        b' {"index": 2, "relevance_score": 1}, {"index": 3, "relevance_score": 1}]}',
    )
    with pytest.raises(InvalidResponseError, match="not a number"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)


def test_call_above_the_limit_is_split(server, client):
    docs = [f"paris fact {i}" for i in range(2049)]
    r = client.rerank(MODEL, QUERY, docs, api_base=server.url)
    assert sorted(x.index for x in r.results) == list(range(2049))
    assert all(len(s.json["documents"]) <= 2048 for s in server.requests)
