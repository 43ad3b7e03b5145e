"""Sans-I/O tests of the Jina AI provider: URL, headers, body, key rule, parsing."""

from __future__ import annotations

import json

import httpx
import pytest

import rerankit
from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import InvalidParameterError, InvalidResponseError, MissingApiKeyError
from rerankit.registry import ProviderRegistry
from rerankit_jina import JinaProvider

PROVIDER = JinaProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "jina_ai",
        "model": "jina-reranker-v2-base-multilingual",
        "query": "organic skincare",
        "documents": ("aloe vera skincare", "makeup trends", "bio hautpflege"),
        "api_key": "jina_secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert PROVIDER.name == "Jina AI"
    assert PROVIDER.api_key_env == "JINA_API_KEY"
    assert PROVIDER.api_base_env == ("JINA_API_BASE",)
    assert PROVIDER.score_kind == "probability"
    assert PROVIDER.max_documents_per_request is None


def test_request_wire_form():
    built = PROVIDER.build_request(request(top_n=2))
    assert built.method == "POST"
    assert built.url == "https://api.jina.ai/v1/rerank"
    assert built.headers["Authorization"] == "Bearer jina_secret"
    assert built.json == {
        "model": "jina-reranker-v2-base-multilingual",
        "query": "organic skincare",
        "documents": ["aloe vera skincare", "makeup trends", "bio hautpflege"],
        "top_n": 2,
        "return_documents": False,
    }


@pytest.mark.parametrize("base", ["http://jina.local", "http://jina.local/v1/"])
def test_base_override(base):
    assert PROVIDER.build_request(request(api_base=base)).url == "http://jina.local/v1/rerank"


def test_key_required_for_the_hosted_api():
    with pytest.raises(MissingApiKeyError, match="JINA_API_KEY"):
        PROVIDER.build_request(request(api_key=None))


def test_canonical_answer_with_top_n_is_partial():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "model": "jina-reranker-v2-base-multilingual",
                "usage": {"total_tokens": 815, "prompt_tokens": 815},
                "results": [
                    {
                        "index": 0,
                        "document": {"text": "aloe vera skincare"},
                        "relevance_score": 0.87,
                    },
                    {"index": 2, "document": {"text": "bio hautpflege"}, "relevance_score": 0.76},
                ],
            }
        ),
        request(top_n=2),
    )
    assert ranking.scores == [(0, 0.87), (2, 0.76)]
    assert ranking.partial is True
    assert ranking.usage == {"total_tokens": 815, "prompt_tokens": 815}


@pytest.mark.parametrize(
    "body",
    [
        [
            {"index": 1, "relevance_score": 0.1},
            {"index": 0, "relevance_score": 0.9},
            {"index": 2, "relevance_score": 0.5},
        ],
        {
            "results": [
                {"index": 1, "relevance_score": 0.1, "document": None},
                {"index": 0, "relevance_score": 0.9, "document": "aloe vera skincare"},
                {"index": 2, "relevance_score": 0.5, "novel": True},
            ],
            "extra": {},
        },
    ],
)
def test_odd_shapes(body):
    ranking = PROVIDER.parse_response(answer(body), request())
    assert sorted(ranking.scores) == [(0, 0.9), (1, 0.1), (2, 0.5)]
    assert ranking.usage is None


def test_error_shaped_200_is_invalid_response():
    with pytest.raises(InvalidResponseError, match="'results'"):
        PROVIDER.parse_response(answer({"detail": "model not found"}), request())


def test_no_extra_parameters_are_accepted():
    registry = ProviderRegistry()
    registry.register("jina_ai", PROVIDER)
    sent: list[httpx.Request] = []
    client = rerankit.Client(transport=httpx.MockTransport(sent.append), registry=registry)
    with client, pytest.raises(InvalidParameterError, match="truncation"):
        client.rerank("jina_ai/m", "q", ["d"], api_key="k", truncation=True)
    assert sent == []
