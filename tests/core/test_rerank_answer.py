"""`rerank_answer`: the call as plain data, the same checks, the same `RerankResponse`."""

from __future__ import annotations

import json
import pickle
from typing import Any, ClassVar

import httpx
import pydantic
import pytest

import rerankit
from rerankit import HttpResponse, ProviderRequest, Ranking, RerankAnswer, RerankResponse
from rerankit.errors import InvalidResponseError

from .fakes import EchoProvider, registry

DOCS = ["alpha", {"text": "beta", "source": "wiki"}, "gamma"]
SCORES = [0.25, 0.75, 0.5]


def upstream(answer: dict[str, Any] | None = None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["documents"]
        body = answer or {
            "id": "resp-1",
            "results": [{"index": i, "score": SCORES[i]} for i in range(len(docs))],
        }
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


def make(provider: EchoProvider | None = None, **answer: Any) -> rerankit.Client:
    return rerankit.Client(
        transport=upstream(answer or None), registry=registry(echo=provider or EchoProvider())
    )


@pytest.mark.parametrize("return_documents", [True, False])
def test_answer_is_the_response_as_plain_data(return_documents: bool) -> None:
    with make() as client:
        answer = client.rerank_answer(
            "echo/m", "q", DOCS, top_n=2, return_documents=return_documents
        )
        response = client.rerank("echo/m", "q", DOCS, top_n=2, return_documents=return_documents)
    assert isinstance(answer, RerankAnswer)
    assert answer.scores == [(1, 0.75), (2, 0.5)]
    assert answer.id == "resp-1" and answer.model == "echo/m"
    assert answer.meta["provider"] == "echo" and answer.meta["attempts"] == 1
    # The model built from the answer is the one `rerank` returns, field for field.
    assert answer.response() == response
    assert answer.response().model_dump() == response.model_dump()
    expected = [r.model_dump(exclude_none=True) for r in response.results]
    assert answer.results() == expected
    if return_documents:
        assert answer.results()[0]["document"] == {"text": "beta", "source": "wiki"}
    else:
        assert "document" not in answer.results()[0]


def test_response_is_built_once() -> None:
    with make() as client:
        answer = client.rerank_answer("echo/m", "q", DOCS)
        again = client.rerank_answer("echo/m", "q", DOCS)
    assert answer.response() is answer.response()
    # Answers compare by their data, whether or not their model was built.
    assert answer == again and again._response is None
    assert answer != RerankAnswer("other", answer.model, answer.scores, None, answer.meta)


def test_response_keeps_its_public_behaviour() -> None:
    """The `RerankResponse` `rerank` returns is the pydantic model it always was."""
    with make() as client:
        response = client.rerank("echo/m", "q", DOCS, return_documents=True)
    data = {
        "id": "resp-1",
        "model": "echo/m",
        "results": [
            {"index": 1, "relevance_score": 0.75, "document": {"text": "beta", "source": "wiki"}},
            {"index": 2, "relevance_score": 0.5, "document": {"text": "gamma"}},
            {"index": 0, "relevance_score": 0.25, "document": {"text": "alpha"}},
        ],
        "meta": {"provider": "echo", "score_kind": "unknown", "attempts": 1},
    }
    built = RerankResponse.model_validate(data)
    assert type(response) is RerankResponse
    assert response == built
    assert response.results[0].document is not None
    assert response.results[0].document.text == "beta"
    assert response.results[0].document.model_extra == {"source": "wiki"}
    assert response.meta.attempts == 1 and response.meta.cached is None
    assert response.model_dump() == built.model_dump()
    assert response.model_dump_json() == built.model_dump_json()
    assert RerankResponse.model_validate_json(response.model_dump_json()) == response
    assert repr(response) == repr(built)
    assert pickle.loads(pickle.dumps(response)) == response


async def test_async_answer_matches_rerank() -> None:
    async with rerankit.AsyncClient(
        transport=upstream(), registry=registry(echo=EchoProvider())
    ) as client:
        answer = await client.rerank_answer("echo/m", "q", DOCS, return_documents=False)
        response = await client.rerank("echo/m", "q", DOCS, return_documents=False)
    assert answer.scores == [(1, 0.75), (2, 0.5), (0, 0.25)]
    assert answer.response() == response


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        ([{"index": 0, "score": 1.0}, {"index": 0, "score": 0.5}], "appears more than once"),
        ([{"index": 0, "score": 1.0}, {"index": 3, "score": 0.5}], "not a position"),
        ([{"index": 0, "score": 1.0}, {"index": 1, "score": "high"}], "not a number"),
        ([{"index": 0, "score": 1.0}, {"index": 1, "score": True}], "not a number"),
        ([{"index": 0, "score": 1.0}], "1 results for 2 expected"),
    ],
)
async def test_answer_keeps_every_ranking_check(results: list[Any], reason: str) -> None:
    """No model is built for `rerank_answer`, and a bad ranking is refused all the same."""
    with make(results=results) as client, pytest.raises(InvalidResponseError, match=reason):
        client.rerank_answer("echo/m", "q", ["a", "b"])
    async with rerankit.AsyncClient(
        transport=upstream({"results": results}), registry=registry(echo=EchoProvider())
    ) as aclient:
        with pytest.raises(InvalidResponseError, match=reason):
            await aclient.rerank_answer("echo/m", "q", ["a", "b"])


class OddProvider(EchoProvider):
    """Answers with whatever id it is given, and may declare a score kind no one knows."""

    kind: ClassVar[Any] = "unknown"

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        body = response.json()
        return Ranking([(r["index"], r["score"]) for r in body["results"]], id=body["id"])

    def score_kind_for(self, request: ProviderRequest) -> Any:
        return self.kind


@pytest.mark.parametrize("call", ["rerank", "rerank_answer"])
def test_an_odd_provider_id_is_refused_either_way(call: str) -> None:
    """What `RerankResponse` refuses of a provider's answer, plain data refuses too."""
    client = make(OddProvider(), id=123, results=[{"index": 0, "score": 1.0}])
    with client, pytest.raises(pydantic.ValidationError, match="id"):
        getattr(client, call)("echo/m", "q", ["a"])


def test_an_unknown_score_kind_is_refused_either_way() -> None:
    provider = OddProvider()
    provider.kind = "percent"
    for call in ("rerank", "rerank_answer"):
        client = make(provider, id="x", results=[{"index": 0, "score": 1.0}])
        with client, pytest.raises(pydantic.ValidationError, match="score_kind"):
            getattr(client, call)("echo/m", "q", ["a"])
