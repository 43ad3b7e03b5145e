"""Sans-I/O tests of the Hugging Face provider: TEI's wire shared, HF's names and key rule."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import ConfigurationError, MissingApiKeyError
from rerankit_huggingface import HuggingFaceProvider
from rerankit_huggingface.provider import WIRE
from rerankit_tei.provider import WIRE as TEI_WIRE

PROVIDER = HuggingFaceProvider()
ENDPOINT = "https://my-reranker.us-east-1.aws.endpoints.huggingface.cloud"


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "huggingface",
        "model": "BAAI/bge-reranker-v2-m3",
        "query": "What is Deep Learning?",
        "documents": ("Deep Learning is a subset of ML", "Cheese is tasty"),
        "api_base": ENDPOINT,
        "api_key": "hf_secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def test_metadata():
    assert PROVIDER.name == "Hugging Face"
    assert PROVIDER.api_key_env == "HF_TOKEN"
    assert PROVIDER.api_key_env_aliases == ("HUGGINGFACE_API_KEY",)
    assert PROVIDER.api_base_env == ("HF_API_BASE", "HUGGINGFACE_API_BASE")
    assert PROVIDER.max_documents_per_request == 32
    assert set(PROVIDER.params) == {"truncate", "truncation_direction", "raw_scores"}


def test_wire_is_teis_not_a_copy():
    # Everything that describes the request and answer comes from rerankit_tei's WIRE.
    for field in ("path", "documents_field", "model_field", "top_n_field", "score_key"):
        assert getattr(WIRE, field) == getattr(TEI_WIRE, field)
    assert WIRE.params is TEI_WIRE.params


def test_request_is_teis_wire_on_the_endpoint():
    built = PROVIDER.build_request(request(top_n=1, params={"truncate": True}))
    assert built.url == f"{ENDPOINT}/rerank"
    assert built.headers["Authorization"] == "Bearer hf_secret"
    assert "hf_secret" not in repr(built)
    assert built.json == {
        "query": "What is Deep Learning?",
        "texts": ["Deep Learning is a subset of ML", "Cheese is tasty"],
        "return_text": False,
        "truncate": True,
    }


def test_endpoint_url_ending_in_rerank_is_used_as_is():
    assert (
        PROVIDER.build_request(request(api_base=f"{ENDPOINT}/rerank")).url == f"{ENDPOINT}/rerank"
    )


def test_endpoint_is_required_and_the_error_says_where_to_find_it():
    with pytest.raises(ConfigurationError, match="HF_API_BASE") as caught:
        PROVIDER.build_request(request(api_base=None))
    assert "endpoints.huggingface.cloud" in str(caught.value)


@pytest.mark.parametrize(
    "base",
    [ENDPOINT, "https://router.huggingface.co/hf-inference", "https://huggingface.co"],
)
def test_token_required_on_hugging_face_hosts(base):
    with pytest.raises(MissingApiKeyError, match="HF_TOKEN"):
        PROVIDER.build_request(request(api_base=base, api_key=None))


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:8080", "https://huggingface.co.evil.example", "https://nothuggingface.co"],
)
def test_no_token_needed_elsewhere(base):
    built = PROVIDER.build_request(request(api_base=base, api_key=None))
    assert "Authorization" not in built.headers


def test_answer_is_a_bare_list_and_raw_scores_are_logits():
    body = [{"index": 1, "score": -3.2}, {"index": 0, "score": 4.1}]
    ranking = PROVIDER.parse_response(HttpResponse(200, {}, json.dumps(body).encode()), request())
    assert ranking.scores == [(1, -3.2), (0, 4.1)]
    assert PROVIDER.score_kind_for(request(params={"raw_scores": True})) == "logit"
