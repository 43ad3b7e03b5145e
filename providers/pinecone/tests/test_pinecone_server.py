"""rerankit against a real HTTP server on 127.0.0.1 speaking Pinecone's rerank wire format.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import AuthenticationError, InvalidParameterError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "pcsk_test_key_never_logged"
MODEL = "pinecone/bge-reranker-v2-m3"
QUERY = "apple products iphone"
DOCS = [
    "Apple is a popular fruit known for its sweetness",
    "Apple is known for its innovative products like the iphone",
    "Many people enjoy eating apples",
]


def pinecone(seen: Seen) -> Reply:
    """Pinecone's answer; rejects calls without its key and version headers like the API."""
    if seen.headers.get("api-key") != KEY:
        return Reply(401, {"error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"}})
    if "x-pinecone-api-version" not in seen.headers:
        return Reply(400, {"error": {"message": "missing api version"}})
    body = seen.json
    texts = [d["text"] for d in body["documents"]]
    pairs = ranked(body["query"], texts, body.get("top_n"))
    data = []
    for i, s in pairs:
        item: dict = {"index": i, "score": s}
        if body.get("return_documents", True):
            item["document"] = body["documents"][i]
        data.append(item)
    return Reply(200, {"model": body["model"], "data": data, "usage": {"rerank_units": 1}})


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(pinecone) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = pinecone
    server.clear()
    for name in ("PINECONE_API_KEY", "PINECONE_API_BASE", "PINECONE_CONTROLLER_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(
        MODEL, QUERY, DOCS, top_n=2, truncate="NONE", api_base=server.url, api_key=KEY
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.meta.usage == {"rerank_units": 1}
    (sent,) = server.requests
    assert sent.path == "/rerank"
    assert sent.headers["api-key"] == KEY
    assert sent.headers["x-pinecone-api-version"] == "2026-07"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "bge-reranker-v2-m3",
        "query": QUERY,
        "documents": [{"text": d} for d in DOCS],
        "top_n": 2,
        "return_documents": False,
        "parameters": {"truncate": "NONE"},
    }


def test_env_base_and_key(server, monkeypatch):
    monkeypatch.setenv("PINECONE_API_BASE", server.url)
    monkeypatch.setenv("PINECONE_API_KEY", KEY)
    r = rerankit.rerank(MODEL, QUERY, DOCS)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]


def test_wrong_key_is_authentication_error(server, client):
    with pytest.raises(AuthenticationError, match="Invalid API Key") as info:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key="pcsk_wrong")
    assert "pcsk_wrong" not in str(info.value)


def test_truncate_choices_are_checked_before_sending(server, client):
    with pytest.raises(InvalidParameterError, match="'END', 'NONE'"):
        client.rerank(MODEL, QUERY, DOCS, truncate="START", api_base=server.url, api_key=KEY)
    assert server.requests == []


def test_call_above_the_limit_is_split(server, client):
    docs = [f"apple fact {i}" for i in range(101)]
    r = client.rerank(MODEL, QUERY, docs, api_base=server.url, api_key=KEY)
    assert sorted(x.index for x in r.results) == list(range(101))
    assert all(len(s.json["documents"]) <= 100 for s in server.requests)
    assert len(server.requests) == 2


def test_split_call_with_top_n_merges_the_partial_answers(server, client):
    docs = [f"apple fact {i}" for i in range(150)] + ["apple products like the iphone"]
    r = client.rerank(MODEL, QUERY, docs, top_n=3, api_base=server.url, api_key=KEY)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, docs, 3)
    assert r.results[0].index == 150
    assert len(server.requests) == 2
    assert all(s.json["top_n"] == 3 for s in server.requests)


def test_api_version_per_call_reaches_the_server(server, client):
    client.rerank(MODEL, QUERY, DOCS, api_version="2026-10", api_base=server.url, api_key=KEY)
    sent = server.requests[-1]
    assert sent.headers["x-pinecone-api-version"] == "2026-10"
    assert "api_version" not in sent.json


def test_the_sdks_controller_host_variable(server, monkeypatch):
    monkeypatch.setenv("PINECONE_CONTROLLER_HOST", server.url)
    monkeypatch.setenv("PINECONE_API_KEY", KEY)
    rerankit.rerank(MODEL, QUERY, DOCS)
    assert server.requests[-1].headers["api-key"] == KEY
