"""Sans-I/O tests of the TEI provider: `texts`, no model, bare-list answers, raw_scores."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import ConfigurationError, InvalidResponseError
from rerankit_tei import TeiProvider

PROVIDER = TeiProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "tei",
        "model": "BAAI/bge-reranker-base",
        "query": "What is Deep Learning?",
        "documents": ("Deep Learning is a subset of ML", "Cheese is tasty"),
        "api_base": "http://tei.local:8080",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert PROVIDER.name == "TEI"
    assert PROVIDER.api_key_env == "TEI_API_KEY"
    assert PROVIDER.api_base_env == ("TEI_API_BASE",)
    assert PROVIDER.max_documents_per_request == 32


def test_request_wire_form_has_texts_and_no_model():
    built = PROVIDER.build_request(
        request(top_n=1, params={"truncate": True, "truncation_direction": "Left"})
    )
    assert built.url == "http://tei.local:8080/rerank"
    assert "Authorization" not in built.headers
    assert built.json == {
        "query": "What is Deep Learning?",
        "texts": ["Deep Learning is a subset of ML", "Cheese is tasty"],
        "return_text": False,
        "truncate": True,
        "truncation_direction": "Left",
    }


def test_base_is_required():
    with pytest.raises(ConfigurationError, match="TEI_API_BASE"):
        PROVIDER.build_request(request(api_base=None))


def test_optional_key_is_sent_when_given():
    built = PROVIDER.build_request(request(api_key="hf_secret"))
    assert built.headers["Authorization"] == "Bearer hf_secret"


def test_bare_list_answer_is_complete_even_with_top_n():
    ranking = PROVIDER.parse_response(
        answer([{"index": 0, "score": 0.998}, {"index": 1, "score": 0.0001, "text": "Cheese"}]),
        request(top_n=1),
    )
    assert ranking.scores == [(0, 0.998), (1, 0.0001)]
    assert ranking.partial is False  # TEI cannot cut: every text must come back


def test_score_kind_follows_raw_scores():
    assert PROVIDER.score_kind_for(request()) == "probability"
    assert PROVIDER.score_kind_for(request(params={"raw_scores": True})) == "logit"


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Input validation error", "error_type": "Validation"},
        [{"index": 0, "relevance_score": 0.9}],
        [[0, 0.9]],
    ],
)
def test_non_tei_answers_are_invalid(body):
    with pytest.raises(InvalidResponseError):
        PROVIDER.parse_response(answer(body), request())
