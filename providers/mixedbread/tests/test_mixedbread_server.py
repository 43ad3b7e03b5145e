"""rerankit against a real HTTP server on 127.0.0.1 speaking Mixedbread's reranking wire.

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import InvalidResponseError, PermissionDeniedError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "mxb_test_key_never_logged"
MODEL = "mixedbread/mixedbread-ai/mxbai-rerank-large-v2"
QUERY = "author of to kill a mockingbird"
DOCS = [
    "Harper Lee is the author of to kill a mockingbird",
    "Moby-Dick was written by Herman Melville",
    "A mockingbird is a bird",
]


def mixedbread(seen: Seen) -> Reply:
    """Mixedbread's answer: `data` of `{index, score, input?}`, top_k echoed."""
    body = seen.json
    pairs = ranked(body["query"], body["input"], body.get("top_k"))
    data = []
    for i, s in pairs:
        item: dict = {"index": i, "score": s, "object": "rank_result"}
        if body.get("return_input"):
            item["input"] = body["input"][i]
        data.append(item)
    return Reply(
        200,
        {
            "object": "list",
            "model": body["model"],
            "data": data,
            "usage": {"prompt_tokens": 30, "total_tokens": 30},
            "top_k": body.get("top_k", len(body["input"])),
            "return_input": body.get("return_input", False),
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(mixedbread) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = mixedbread
    server.clear()
    for name in ("MXBAI_API_KEY", "MXBAI_API_BASE", "MIXEDBREAD_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(MODEL, QUERY, DOCS, top_n=1, api_base=server.url, api_key=KEY)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 1)
    assert r.meta.score_kind == "unknown"
    (sent,) = server.requests
    assert sent.path == "/v1/reranking"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "mixedbread-ai/mxbai-rerank-large-v2",
        "query": QUERY,
        "input": DOCS,
        "top_k": 1,
        "return_input": False,
    }


def test_env_base_and_key(server, monkeypatch):
    monkeypatch.setenv("MXBAI_API_BASE", server.url)
    monkeypatch.setenv("MXBAI_API_KEY", KEY)
    r = rerankit.rerank(MODEL, QUERY, DOCS, rewrite_query=False)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert server.requests[-1].json["rewrite_query"] is False


def test_the_sdks_base_url_variable(server, monkeypatch):
    monkeypatch.setenv("MIXEDBREAD_BASE_URL", server.url)
    monkeypatch.setenv("MXBAI_API_KEY", KEY)
    rerankit.rerank(MODEL, QUERY, DOCS)
    assert server.requests[-1].path == "/v1/reranking"


def test_rerankits_variable_wins_over_the_sdks(server, monkeypatch):
    monkeypatch.setenv("MXBAI_API_BASE", server.url)
    monkeypatch.setenv("MIXEDBREAD_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MXBAI_API_KEY", KEY)
    assert len(rerankit.rerank(MODEL, QUERY, DOCS).results) == len(DOCS)


def test_403_is_permission_denied(server, client):
    server.handler = lambda seen: Reply(403, {"error": {"message": "model not in your plan"}})
    with pytest.raises(PermissionDeniedError, match="not in your plan"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)


def test_fewer_results_than_documents_is_invalid(server, client):
    server.handler = lambda seen: Reply(200, {"data": [{"index": 0, "score": 0.9}]})
    with pytest.raises(InvalidResponseError, match="lost"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key=KEY)


def test_call_above_the_limit_is_split(server, client):
    docs = [f"mockingbird page {i}" for i in range(1001)]
    r = client.rerank(MODEL, QUERY, docs, api_base=server.url, api_key=KEY)
    assert sorted(x.index for x in r.results) == list(range(1001))
    assert all(len(s.json["input"]) <= 1000 for s in server.requests)
