"""rerankit against a real HTTP server on 127.0.0.1 speaking TEI's `/rerank` wire format.

The fake enforces TEI's default client batch size (32 texts). The plugin is found through
its installed entry point; these tests never import it.
"""

from __future__ import annotations

import math

import pytest

import rerankit
from rerankit.errors import BadRequestError, ConfigurationError, InvalidParameterError
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

QUERY = "what is deep learning"
DOCS = [
    "Deep learning is a subset of machine learning",
    "Cheese is made from milk",
    "What is the weather like",
]


def tei(seen: Seen) -> Reply:
    """TEI's answer: a bare list of every text, sigmoid scores unless raw_scores."""
    body = seen.json
    if len(body["texts"]) > 32:
        return Reply(
            413,
            {"error": "batch size 33 > maximum allowed batch size 32", "error_type": "Validation"},
        )
    pairs = ranked(body["query"], body["texts"])
    out = []
    for i, s in pairs:
        score = math.log(s / (1 - s)) if body.get("raw_scores") and 0 < s < 1 else s
        item: dict = {"index": i, "score": score}
        if body.get("return_text"):
            item["text"] = body["texts"][i]
        out.append(item)
    return Reply(200, out)


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(tei) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, monkeypatch):
    server.handler = tei
    server.clear()
    for name in ("TEI_API_KEY", "TEI_API_BASE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(
        "tei/BAAI/bge-reranker-base", QUERY, DOCS, top_n=2, truncate=True, api_base=server.url
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[r.results[0].index]
    assert r.meta.score_kind == "probability"
    assert r.model == "tei/BAAI/bge-reranker-base"
    (sent,) = server.requests
    assert sent.path == "/rerank"
    assert "authorization" not in sent.headers
    assert sent.json == {"query": QUERY, "texts": DOCS, "return_text": False, "truncate": True}


def test_raw_scores_are_reported_as_logits(server, client, monkeypatch):
    monkeypatch.setenv("TEI_API_BASE", server.url)
    monkeypatch.setenv("TEI_API_KEY", "tei_key_never_logged")
    r = client.rerank("tei/reranker", QUERY, DOCS, raw_scores=True)
    assert r.meta.score_kind == "logit"
    assert r.results[-1].relevance_score < 0  # a logit, not a probability
    assert server.requests[-1].headers["authorization"] == "Bearer tei_key_never_logged"


def test_no_base_is_a_configuration_error(client):
    with pytest.raises(ConfigurationError, match="TEI_API_BASE"):
        client.rerank("tei/reranker", QUERY, DOCS)


def test_tei_error_body_is_in_the_message(server, client):
    server.handler = lambda seen: Reply(
        422, {"error": "`truncate` is false and input is too long", "error_type": "Validation"}
    )
    with pytest.raises(BadRequestError, match="input is too long"):
        client.rerank("tei/reranker", QUERY, DOCS, api_base=server.url)


def test_call_above_the_limit_is_split(server, client):
    docs = [f"deep learning note {i}" for i in range(70)]
    r = client.rerank("tei/reranker", QUERY, docs, api_base=server.url)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, docs)
    sizes = [len(s.json["texts"]) for s in server.requests]
    assert sum(sizes) == 70
    assert max(sizes) <= 32


def test_larger_server_batch_size_by_override(server, client):
    server.handler = lambda seen: Reply(
        200, [{"index": i, "score": 0.5} for i in range(len(seen.json["texts"]))]
    )
    docs = [f"deep learning note {i}" for i in range(40)]
    r = client.rerank(
        "tei/reranker", QUERY, docs, api_base=server.url, max_documents_per_request=64
    )
    assert len(r.results) == 40
    assert [len(s.json["texts"]) for s in server.requests] == [40]


@pytest.mark.parametrize("direction", ["Left", "left", "Right", "right"])
def test_truncation_direction_in_both_spellings_tei_accepts(server, client, direction):
    # TEI's router: enum TruncationDirection { Left (alias "left"), Right (alias "right") }.
    client.rerank(
        "tei/reranker",
        QUERY,
        DOCS,
        truncate=True,
        truncation_direction=direction,
        api_base=server.url,
    )
    assert server.requests[-1].json["truncation_direction"] == direction


def test_unknown_truncation_direction_is_refused_before_sending(server, client):
    with pytest.raises(InvalidParameterError, match="truncation_direction"):
        client.rerank("tei/reranker", QUERY, DOCS, truncation_direction="up", api_base=server.url)
    assert server.requests == []
