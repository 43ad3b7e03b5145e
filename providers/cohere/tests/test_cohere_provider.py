"""Sans-I/O tests of the Cohere provider: v2 default, v1 by model string, params, parsing."""

from __future__ import annotations

import json

import httpx
import pytest

import rerankit
from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import (
    ConfigurationError,
    InvalidModelError,
    InvalidParameterError,
    InvalidResponseError,
    MissingApiKeyError,
)
from rerankit.registry import ProviderRegistry
from rerankit_cohere import CohereProvider

PROVIDER = CohereProvider()
DOCS = ("Carson City is the capital of Nevada", "Washington, D.C. is the US capital")


def request(model: str = "rerank-v3.5", **kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "cohere",
        "model": model,
        "query": "capital of the United States",
        "documents": DOCS,
        "api_key": "co-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert PROVIDER.name == "Cohere"
    assert PROVIDER.api_key_env == "COHERE_API_KEY"
    assert PROVIDER.api_base_env == ("COHERE_API_BASE", "CO_API_URL")
    assert PROVIDER.score_kind == "probability"
    assert PROVIDER.max_documents_per_request == 1000
    assert set(PROVIDER.params) == {"max_tokens_per_doc", "priority", "max_chunks_per_doc"}


@pytest.mark.parametrize("model", ["rerank-v3.5", "v2/rerank-v3.5"])
def test_v2_is_the_default(model):
    built = PROVIDER.build_request(request(model, top_n=1, params={"max_tokens_per_doc": 512}))
    assert built.url == "https://api.cohere.com/v2/rerank"
    assert built.headers["Authorization"] == "Bearer co-secret"
    assert built.json == {
        "model": "rerank-v3.5",
        "query": "capital of the United States",
        "documents": list(DOCS),
        "top_n": 1,
        "max_tokens_per_doc": 512,
    }


def test_v1_by_model_string():
    built = PROVIDER.build_request(
        request("v1/rerank-english-v3.0", params={"max_chunks_per_doc": 3})
    )
    assert built.url == "https://api.cohere.com/v1/rerank"
    assert built.json == {
        "model": "rerank-english-v3.0",
        "query": "capital of the United States",
        "documents": list(DOCS),
        "return_documents": False,
        "max_chunks_per_doc": 3,
    }


@pytest.mark.parametrize(
    ("model", "param"),
    [("rerank-v3.5", "max_chunks_per_doc"), ("v1/rerank-english-v3.0", "max_tokens_per_doc")],
)
def test_parameter_of_the_other_version_is_rejected(model, param):
    with pytest.raises(InvalidParameterError, match=param):
        PROVIDER.build_request(request(model, params={param: 2}))


@pytest.mark.parametrize("model", ["v1/", "v2/"])
def test_version_without_model_is_invalid(model):
    with pytest.raises(InvalidModelError, match="names no model"):
        PROVIDER.build_request(request(model))


@pytest.mark.parametrize(
    "base",
    [
        "https://cohere.proxy/team",
        "https://cohere.proxy/team/",
        "https://cohere.proxy/team/v1",
        "https://cohere.proxy/team/v2/",
        "https://cohere.proxy/team/v1/rerank",
        "https://cohere.proxy/team/rerank",
    ],
)
def test_model_string_not_base_chooses_the_version(base):
    assert PROVIDER.build_request(request("v1/m", api_base=base)).url == (
        "https://cohere.proxy/team/v1/rerank"
    )
    assert PROVIDER.build_request(request("m", api_base=base)).url == (
        "https://cohere.proxy/team/v2/rerank"
    )


def test_non_http_base_is_still_rejected():
    with pytest.raises(ConfigurationError, match="not an http"):
        PROVIDER.build_request(request(api_base="api.cohere.com/v1"))


def test_key_required_for_cohere_api():
    with pytest.raises(MissingApiKeyError, match="COHERE_API_KEY"):
        PROVIDER.build_request(request(api_key=None))
    assert (
        "Authorization"
        not in PROVIDER.build_request(request(api_key=None, api_base="http://127.0.0.1:9")).headers
    )


def test_v2_answer_meta_becomes_usage():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "id": "07734bd2",
                "results": [{"index": 1, "relevance_score": 0.99}],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            }
        ),
        request(top_n=1),
    )
    assert ranking.scores == [(1, 0.99)]
    assert ranking.id == "07734bd2"
    assert ranking.usage == {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
    assert ranking.partial is True


@pytest.mark.parametrize(
    "body",
    [
        {
            "results": [
                {"index": 0, "relevance_score": 0.1, "document": None},
                {"index": 1, "relevance_score": 0.9, "document": {"text": "x"}},
            ]
        },
        {
            "id": "x",
            "results": [
                {"index": 0, "relevance_score": 0.1, "document": "plain"},
                {"index": 1, "relevance_score": 0.9},
            ],
            "warnings": ["w"],
        },
        [{"index": 0, "relevance_score": 0.1}, {"index": 1, "relevance_score": 0.9}],
    ],
)
def test_odd_shapes(body):
    ranking = PROVIDER.parse_response(answer(body), request("v1/m"))
    assert sorted(ranking.scores) == [(0, 0.1), (1, 0.9)]


def test_error_shaped_200_is_invalid_response():
    with pytest.raises(InvalidResponseError):
        PROVIDER.parse_response(answer({"message": "invalid request"}), request())


@pytest.mark.parametrize(
    ("params", "name"),
    [({"max_tokens_per_doc": 0}, "max_tokens_per_doc"), ({"priority": "high"}, "priority")],
)
def test_ill_typed_params_fail_before_sending(params, name):
    registry = ProviderRegistry()
    registry.register("cohere", PROVIDER)
    sent: list[httpx.Request] = []
    client = rerankit.Client(transport=httpx.MockTransport(sent.append), registry=registry)
    with client, pytest.raises(InvalidParameterError, match=name):
        client.rerank("cohere/rerank-v3.5", "q", ["d"], api_key="k", **params)
    assert sent == []
