"""rerankit against a real HTTP server on 127.0.0.1 speaking Voyage AI's rerank wire format.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import BadRequestError, InvalidResponseError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "pa_test_key_never_logged"
QUERY = "apple conference call"
DOCS = [
    "The apple conference call is on November 1",
    "Cats purr when they are happy",
    "Apple released a new phone",
]


def voyage(seen: Seen) -> Reply:
    """Voyage's answer: `data`, top_k, `document` a plain string when asked."""
    body = seen.json
    pairs = ranked(body["query"], body["documents"], body.get("top_k"))
    data = []
    for i, s in pairs:
        item: dict = {"relevance_score": s, "index": i}
        if body.get("return_documents"):
            item["document"] = body["documents"][i]
        data.append(item)
    return Reply(
        200, {"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": 9}}
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(voyage) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = voyage
    server.clear()
    for name in ("VOYAGE_API_KEY", "VOYAGE_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(
        "voyage/rerank-2.5",
        QUERY,
        DOCS,
        top_n=2,
        truncation=True,
        api_base=server.url,
        api_key=KEY,
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[r.results[0].index]
    assert r.meta.usage == {"total_tokens": 9}
    (sent,) = server.requests
    assert sent.path == "/v1/rerank"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "rerank-2.5",
        "query": QUERY,
        "documents": DOCS,
        "top_k": 2,
        "return_documents": False,
        "truncation": True,
    }


def test_env_base_and_key(server, monkeypatch):
    monkeypatch.setenv("VOYAGE_API_BASE", server.url + "/v1/")
    monkeypatch.setenv("VOYAGE_API_KEY", KEY)
    r = rerankit.rerank("voyage/rerank-2.5-lite", QUERY, DOCS)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert server.requests[-1].path == "/v1/rerank"


def test_voyage_detail_message_on_400(server, client):
    server.handler = lambda seen: Reply(400, {"detail": "The input exceeds the token limit"})
    with pytest.raises(BadRequestError, match="token limit"):
        client.rerank("voyage/rerank-2", QUERY, DOCS, api_base=server.url, api_key=KEY)


def test_repeated_index_is_invalid_response(server, client):
    server.handler = lambda seen: Reply(
        200,
        {
            "data": [
                {"index": 0, "relevance_score": 0.9},
                {"index": 0, "relevance_score": 0.8},
                {"index": 1, "relevance_score": 0.1},
            ]
        },
    )
    with pytest.raises(InvalidResponseError, match="more than once"):
        client.rerank("voyage/rerank-2", QUERY, DOCS, api_base=server.url, api_key=KEY)


def test_call_above_the_limit_is_split(server, client):
    docs = [f"apple note {i}" for i in range(1001)]
    r = client.rerank("voyage/rerank-2.5", QUERY, docs, api_base=server.url, api_key=KEY)
    assert sorted(x.index for x in r.results) == list(range(1001))
    assert all(len(s.json["documents"]) <= 1000 for s in server.requests)
    assert len(server.requests) == 2
