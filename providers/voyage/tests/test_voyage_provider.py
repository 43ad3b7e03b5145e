"""Sans-I/O tests of the Voyage AI provider: top_k, truncation, `data` answers."""

from __future__ import annotations

import json

import httpx
import pytest

import rerankit
from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import InvalidParameterError, InvalidResponseError, MissingApiKeyError
from rerankit.registry import ProviderRegistry
from rerankit_voyage import VoyageProvider

PROVIDER = VoyageProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "voyage",
        "model": "rerank-2.5",
        "query": "When is Apple's conference call scheduled?",
        "documents": ("Apple's call is on 1 Nov", "Cats purr", "The Fed meets weekly"),
        "api_key": "pa-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert (PROVIDER.name, PROVIDER.api_key_env) == ("Voyage AI", "VOYAGE_API_KEY")
    assert PROVIDER.score_kind == "probability"
    assert PROVIDER.max_documents_per_request == 1000


def test_request_wire_form_uses_top_k():
    built = PROVIDER.build_request(request(top_n=1, params={"truncation": False}))
    assert built.url == "https://api.voyageai.com/v1/rerank"
    assert built.headers["Authorization"] == "Bearer pa-secret"
    assert built.json == {
        "model": "rerank-2.5",
        "query": "When is Apple's conference call scheduled?",
        "documents": ["Apple's call is on 1 Nov", "Cats purr", "The Fed meets weekly"],
        "top_k": 1,
        "return_documents": False,
        "truncation": False,
    }
    assert "top_n" not in built.json


def test_key_required():
    with pytest.raises(MissingApiKeyError, match="VOYAGE_API_KEY"):
        PROVIDER.build_request(request(api_key=None))


def test_atlas_key_goes_to_mongodb_host():
    # Keys issued through MongoDB Atlas (al-...) get 401 from api.voyageai.com.
    built = PROVIDER.build_request(request(api_key="al-atlas-secret"))
    assert built.url == "https://ai.mongodb.com/v1/rerank"
    assert built.headers["Authorization"] == "Bearer al-atlas-secret"


def test_voyage_key_stays_on_voyage_host():
    assert PROVIDER.build_request(request()).url == "https://api.voyageai.com/v1/rerank"


@pytest.mark.parametrize("base", ["http://proxy.local:4000", "https://api.voyageai.com"])
def test_explicit_base_wins_over_the_atlas_rule(base):
    built = PROVIDER.build_request(request(api_key="al-atlas-secret", api_base=base))
    assert built.url == f"{base}/v1/rerank"


def test_data_answer_with_string_documents():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "object": "list",
                "data": [
                    {"relevance_score": 0.44, "index": 0, "document": "Apple's call is on 1 Nov"},
                    {"relevance_score": 0.02, "index": 2, "document": None},
                ],
                "model": "rerank-2.5",
                "usage": {"total_tokens": 26},
            }
        ),
        request(top_n=2),
    )
    assert ranking.scores == [(0, 0.44), (2, 0.02)]
    assert ranking.partial is True
    assert ranking.usage == {"total_tokens": 26}
    assert ranking.model is None  # deprecated and unset: the response names the model asked for


def test_cohere_shaped_answer_is_not_voyage():
    with pytest.raises(InvalidResponseError, match="'data'"):
        PROVIDER.parse_response(
            answer({"results": [{"index": 0, "relevance_score": 1}]}), request()
        )


def test_truncation_must_be_a_bool():
    registry = ProviderRegistry()
    registry.register("voyage", PROVIDER)
    sent: list[httpx.Request] = []
    client = rerankit.Client(transport=httpx.MockTransport(sent.append), registry=registry)
    with client, pytest.raises(InvalidParameterError, match="truncation"):
        client.rerank("voyage/rerank-2.5", "q", ["d"], api_key="k", truncation="yes")
    assert sent == []


def test_atlas_key_from_the_environment_reaches_mongodb(monkeypatch):
    monkeypatch.delenv("VOYAGE_API_BASE", raising=False)
    monkeypatch.setenv("VOYAGE_API_KEY", "al-from-env")
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"data": [{"index": 0, "relevance_score": 0.7}]})

    registry = ProviderRegistry()
    registry.register("voyage", PROVIDER)
    with rerankit.Client(transport=httpx.MockTransport(handler), registry=registry) as client:
        client.rerank("voyage/rerank-2.5", "q", ["d"])
    assert str(seen[0].url) == "https://ai.mongodb.com/v1/rerank"
