"""Sans-I/O tests of the Together AI provider."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import InvalidResponseError, MissingApiKeyError
from rerankit_together import TogetherProvider

PROVIDER = TogetherProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "together_ai",
        "model": "Salesforce/Llama-Rank-V1",
        "query": "What animals can I find near Peru?",
        "documents": ("The llama is a camelid", "The giant panda", "The guanaco"),
        "api_key": "tg-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert (PROVIDER.name, PROVIDER.api_key_env) == ("Together AI", "TOGETHER_API_KEY")
    assert PROVIDER.api_base_env == (
        "TOGETHER_API_BASE",
        "TOGETHERAI_API_BASE",
        "TOGETHER_BASE_URL",
    )
    assert PROVIDER.score_kind == "unknown"
    assert PROVIDER.max_documents_per_request is None


def test_request_wire_form_keeps_org_in_model():
    built = PROVIDER.build_request(request(top_n=2))
    assert built.url == "https://api.together.ai/v1/rerank"  # the official SDK's host
    assert built.headers["Authorization"] == "Bearer tg-secret"
    assert built.json == {
        "model": "Salesforce/Llama-Rank-V1",
        "query": "What animals can I find near Peru?",
        "documents": ["The llama is a camelid", "The giant panda", "The guanaco"],
        "top_n": 2,
        "return_documents": False,
    }


def test_key_required():
    with pytest.raises(MissingApiKeyError, match="TOGETHER_API_KEY"):
        PROVIDER.build_request(request(api_key=None))


def test_documented_answer():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "object": "rerank",
                "id": "9dfa1a09",
                "model": "salesforce/turboranker-0.8-3778-6328",
                "results": [
                    {"index": 0, "relevance_score": 0.29, "document": {"text": '{"t": 1}'}},
                    {"index": 2, "relevance_score": 0.27, "document": {"text": None}},
                ],
                "usage": {"prompt_tokens": 2966, "completion_tokens": 0, "total_tokens": 2966},
            }
        ),
        request(top_n=2),
    )
    assert ranking.scores == [(0, 0.29), (2, 0.27)]
    assert ranking.id == "9dfa1a09"
    assert ranking.partial is True
    assert ranking.usage["total_tokens"] == 2966


def test_answer_without_results_is_invalid():
    with pytest.raises(InvalidResponseError, match="'results'"):
        PROVIDER.parse_response(answer({"object": "rerank", "id": "x"}), request())
