"""rerankit against a real HTTP server on 127.0.0.1 speaking TEI's `/rerank` wire, as a
Hugging Face Inference Endpoint running TEI does (one model, Bearer token, batch of 32).

The plugin is found through its installed entry point; these tests never import it.
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import AuthenticationError, MissingApiKeyError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

TOKEN = "hf_token_never_logged"
QUERY = "what is deep learning"
DOCS = [
    "Deep learning is a subset of machine learning",
    "Cheese is made from milk",
    "What is the weather like",
]
ENV = ("HF_TOKEN", "HUGGINGFACE_API_KEY", "HF_API_BASE", "HUGGINGFACE_API_BASE")


def endpoint(seen: Seen) -> Reply:
    """A TEI endpoint that, like Hugging Face's, refuses a request without its token."""
    if seen.headers.get("authorization") != f"Bearer {TOKEN}":
        return Reply(401, {"error": "Authorization header is correct, but the token seems invalid"})
    texts = seen.json["texts"]
    if len(texts) > 32:
        return Reply(413, {"error": "batch size 33 > maximum allowed batch size 32"})
    return Reply(200, [{"index": i, "score": s} for i, s in ranked(seen.json["query"], texts)])


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(endpoint) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = endpoint
    server.clear()
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(
        "huggingface/BAAI/bge-reranker-v2-m3",
        QUERY,
        DOCS,
        top_n=2,
        truncate=True,
        api_base=server.url,
        api_key=TOKEN,
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[r.results[0].index]
    assert r.meta.score_kind == "probability"
    (sent,) = server.requests
    assert sent.path == "/rerank"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.json == {"query": QUERY, "texts": DOCS, "return_text": False, "truncate": True}


@pytest.mark.parametrize("key_var", ["HF_TOKEN", "HUGGINGFACE_API_KEY"])
@pytest.mark.parametrize("base_var", ["HF_API_BASE", "HUGGINGFACE_API_BASE"])
def test_token_and_endpoint_from_the_environment(server, monkeypatch, key_var, base_var):
    monkeypatch.setenv(key_var, TOKEN)
    monkeypatch.setenv(base_var, server.url)
    r = rerankit.rerank("huggingface/reranker", QUERY, DOCS)
    assert len(r.results) == len(DOCS)


def test_wrong_token_is_an_authentication_error_without_the_token(server, client):
    with pytest.raises(AuthenticationError) as caught:
        client.rerank("huggingface/reranker", QUERY, DOCS, api_base=server.url, api_key="hf_bad")
    assert "hf_bad" not in str(caught.value)


def test_call_above_the_batch_size_is_split(server, client):
    docs = [f"deep learning note {i}" for i in range(70)]
    r = client.rerank("huggingface/reranker", QUERY, docs, api_base=server.url, api_key=TOKEN)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, docs)
    assert max(len(s.json["texts"]) for s in server.requests) <= 32


def test_hosted_endpoint_without_token_fails_before_sending(monkeypatch, client):
    monkeypatch.setenv("HF_API_BASE", "https://x.us-east-1.aws.endpoints.huggingface.cloud")
    with pytest.raises(MissingApiKeyError, match="HF_TOKEN"):
        client.rerank("huggingface/reranker", QUERY, DOCS)
