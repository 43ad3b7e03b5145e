"""Sans-I/O tests of the Infinity provider: self-hosted base, `results` or `data`, raw_scores."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import ConfigurationError, InvalidResponseError
from rerankit_infinity import InfinityProvider

PROVIDER = InfinityProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "infinity",
        "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
        "query": "where is paris",
        "documents": ("Paris is in France", "Rome is in Italy", "Paris Hilton"),
        "api_base": "http://infinity.local:7997",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert (PROVIDER.name, PROVIDER.api_key_env) == ("Infinity", "INFINITY_API_KEY")
    assert PROVIDER.api_base_env == ("INFINITY_API_BASE",)
    assert PROVIDER.max_documents_per_request == 2048


def test_request_wire_form():
    built = PROVIDER.build_request(request(top_n=2, params={"raw_scores": True}))
    assert built.url == "http://infinity.local:7997/rerank"
    assert "Authorization" not in built.headers
    assert built.json == {
        "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
        "query": "where is paris",
        "documents": ["Paris is in France", "Rome is in Italy", "Paris Hilton"],
        "top_n": 2,
        "return_documents": False,
        "raw_scores": True,
    }


def test_url_prefix_v1():
    built = PROVIDER.build_request(request(api_base="http://infinity.local:7997/v1"))
    assert built.url == "http://infinity.local:7997/v1/rerank"


def test_base_required_key_optional():
    with pytest.raises(ConfigurationError, match="INFINITY_API_BASE"):
        PROVIDER.build_request(request(api_base=None))
    assert PROVIDER.build_request(request(api_key="inf-k")).headers["Authorization"] == (
        "Bearer inf-k"
    )


@pytest.mark.parametrize("key", ["results", "data"])
def test_current_and_older_result_keys(key):
    ranking = PROVIDER.parse_response(
        answer(
            {
                "object": "rerank",
                key: [
                    {"relevance_score": 0.9, "index": 0, "document": None},
                    {"relevance_score": 0.4, "index": 2, "document": "Paris Hilton"},
                    {"relevance_score": 0.1, "index": 1},
                ],
                "model": "mixedbread-ai/mxbai-rerank-xsmall-v1",
                "usage": {"prompt_tokens": 9, "total_tokens": 9},
                "id": "infinity-5",
                "created": 1700000000,
            }
        ),
        request(),
    )
    assert ranking.scores == [(0, 0.9), (2, 0.4), (1, 0.1)]
    assert ranking.id == "infinity-5"


def test_score_kind_follows_raw_scores():
    assert PROVIDER.score_kind_for(request()) == "probability"
    assert PROVIDER.score_kind_for(request(params={"raw_scores": True})) == "logit"


def test_error_object_with_status_200_is_invalid():
    with pytest.raises(InvalidResponseError, match="'results' or 'data'"):
        PROVIDER.parse_response(answer({"error": {"message": "model not loaded"}}), request())
