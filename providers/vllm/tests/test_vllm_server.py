"""rerankit against a real HTTP server on 127.0.0.1 speaking vLLM's rerank wire format.

The fake serves `/rerank`, `/v1/rerank` and `/v2/rerank` like vLLM and 404s elsewhere.
The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import BadRequestError, NotFoundError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

MODEL = "hosted_vllm/BAAI/bge-reranker-v2-m3"
QUERY = "capital of france"
DOCS = ["The capital of france is Paris", "Brazil is big", "France has wine"]


def vllm(seen: Seen) -> Reply:
    if seen.path not in ("/rerank", "/v1/rerank", "/v2/rerank"):
        return Reply(404, {"detail": "Not Found"})
    body = seen.json
    top_n = body.get("top_n") or None  # vLLM: 0 means all
    pairs = ranked(body["query"], body["documents"], top_n)
    return Reply(
        200,
        {
            "id": "rerank-1",
            "model": body["model"],
            "usage": {"total_tokens": 17},
            "results": [
                {"index": i, "document": {"text": body["documents"][i]}, "relevance_score": s}
                for i, s in pairs
            ],
        },
    )


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(vllm) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = vllm
    server.clear()
    for name in ("HOSTED_VLLM_API_KEY", "HOSTED_VLLM_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


@pytest.mark.parametrize(
    ("suffix", "path"), [("", "/rerank"), ("/v1", "/v1/rerank"), ("/v2/", "/v2/rerank")]
)
def test_round_trip_on_each_route(server, client, suffix, path):
    r = client.rerank(
        MODEL, QUERY, DOCS, top_n=2, truncate_prompt_tokens=128, api_base=server.url + suffix
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    (sent,) = server.requests
    assert sent.path == path
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "BAAI/bge-reranker-v2-m3",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "truncate_prompt_tokens": 128,
    }


def test_env_base_and_key(server, monkeypatch):
    monkeypatch.setenv("HOSTED_VLLM_API_BASE", server.url + "/v1")
    monkeypatch.setenv("HOSTED_VLLM_API_KEY", "vllm_key_never_logged")
    r = rerankit.rerank(MODEL, QUERY, DOCS)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert r.meta.score_kind == "unknown"
    assert server.requests[-1].headers["authorization"] == "Bearer vllm_key_never_logged"


def test_vllm_error_object(server, client):
    server.handler = lambda seen: Reply(
        400,
        {
            "object": "error",
            "message": "This model does not support rerank",
            "type": "BadRequest",
            "code": 400,
        },
    )
    with pytest.raises(BadRequestError, match="does not support rerank"):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)


def test_wrong_base_path_is_not_found(server, client):
    with pytest.raises(NotFoundError):
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url + "/openai")
