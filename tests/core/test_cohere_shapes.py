"""Cohere-shaped answers (`results[{index, score, document}]`) in odd forms: the core always
attaches the caller's own documents, so an upstream `document: null`, a string or an
object never replaces or loses one."""

from __future__ import annotations

import httpx
import pytest

from rerankit import Client
from rerankit.errors import InvalidResponseError

from .fakes import registry

DOCS = ["first text", {"text": "second text", "id": "b"}, "third text"]


def answering(results):
    return httpx.MockTransport(lambda request: httpx.Response(200, json={"results": results}))


@pytest.mark.parametrize(
    "document", [None, "a different text", {"text": "upstream's copy"}, {"unexpected": 1}]
)
def test_upstream_document_field_never_replaces_the_callers(document):
    results = [
        {"index": i, "score": s, "document": document} for i, s in [(2, 0.9), (0, 0.5), (1, 0.1)]
    ]
    r = Client(transport=answering(results), registry=registry()).rerank("echo/m", "q", DOCS)
    assert [x.index for x in r.results] == [2, 0, 1]
    assert [x.document.text for x in r.results] == ["third text", "first text", "second text"]
    assert r.results[2].document.model_dump() == {"text": "second text", "id": "b"}


def test_document_null_with_return_documents_false():
    results = [{"index": i, "score": -i, "document": None} for i in range(3)]
    r = Client(transport=answering(results), registry=registry()).rerank(
        "echo/m", "q", DOCS, return_documents=False
    )
    assert all(x.document is None for x in r.results)


@pytest.mark.parametrize(
    "results",
    [
        [{"index": 0, "score": None}, {"index": 1, "score": 1}, {"index": 2, "score": 1}],
        [{"index": "0", "score": 1}, {"index": 1, "score": 1}, {"index": 2, "score": 1}],
        [{"score": 1}],
        [None],
    ],
)
def test_malformed_cohere_entries_are_invalid_responses_not_crashes(results):
    with pytest.raises(InvalidResponseError):
        Client(transport=answering(results), registry=registry(), max_retries=0).rerank(
            "echo/m", "q", DOCS
        )


def test_unparseable_answer_echoing_the_key_is_redacted():
    body = {"results": [{"score": 1}], "echo": "sk-echoed-secret"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with pytest.raises(InvalidResponseError, match="KeyError") as info:
        Client(transport=transport, registry=registry()).rerank(
            "echo/m", "q", DOCS, api_key="sk-echoed-secret"
        )
    assert "sk-echoed-secret" not in str(info.value) + (info.value.body or "")
    assert "***" in info.value.body
