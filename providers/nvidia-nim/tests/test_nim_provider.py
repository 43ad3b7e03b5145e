"""Sans-I/O tests of the NIM provider: URLs, body, headers, keys, parsing."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import (
    ConfigurationError,
    InvalidModelError,
    InvalidResponseError,
    MissingApiKeyError,
)
from rerankit_nvidia_nim import NvidiaNimProvider
from rerankit_nvidia_nim.catalogue import fallback, lookup

PROVIDER = NvidiaNimProvider()
MODEL = "nvidia/llama-3_2-nv-rerankqa-1b-v2"


def request(model: str = MODEL, **kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "nvidia_nim",
        "model": model,
        "query": "which way?",
        "documents": ("left", "right"),
        "api_key": "nvapi-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def url_for(model: str = MODEL, api_base: str | None = None) -> str:
    return PROVIDER.build_request(request(model, api_base=api_base)).url


# -- URLs --------------------------------------------------------------------------------


def test_hosted_default_url():
    assert url_for() == (
        "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    )


def test_dotted_model_name_maps_to_underscored_path():
    assert url_for("nvidia/llama-3.2-nv-rerankqa-1b-v2") == url_for(MODEL)


@pytest.mark.parametrize(
    "base",
    [
        "https://nim.example.com",
        "https://nim.example.com/",
        "https://nim.example.com/v1",
        "https://nim.example.com/v1/",
    ],
)
def test_custom_base_never_doubles_slash_or_v1(base):
    assert url_for(api_base=base) == (
        "https://nim.example.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    )


def test_full_retrieval_url_is_used_as_is():
    full = "https://nim.example.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    assert url_for("nvidia/other-model", api_base=full) == full


def test_shared_path_model():
    expected = "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking"
    assert url_for("nv-rerank-qa-mistral-4b:1") == expected
    assert url_for("nvidia/rerank-qa-mistral-4b") == expected
    built = PROVIDER.build_request(request("nvidia/rerank-qa-mistral-4b"))
    assert built.json["model"] == "nv-rerank-qa-mistral-4b:1"


def test_nvidia_clients_alias_for_the_shared_path_model():
    # langchain-nvidia-ai-endpoints knows this model as ai-rerank-qa-mistral-4b.
    built = PROVIDER.build_request(request("ai-rerank-qa-mistral-4b"))
    assert built.url == "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking"
    assert built.json["model"] == "nv-rerank-qa-mistral-4b:1"


def test_self_hosted_ranking_prefix():
    built = PROVIDER.build_request(
        request("ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2", api_base="http://localhost:8000/")
    )
    assert built.url == "http://localhost:8000/v1/ranking"
    assert built.json["model"] == "nvidia/llama-3.2-nv-rerankqa-1b-v2"


def test_base_ending_in_ranking_is_used_as_is():
    assert url_for(api_base="http://nim:8000/v1/ranking") == "http://nim:8000/v1/ranking"
    assert url_for(api_base="http://nim:8000/v1/ranking/") == "http://nim:8000/v1/ranking/"


def test_self_hosted_without_base_says_how_to_set_it():
    with pytest.raises(ConfigurationError, match="api_base="):
        PROVIDER.build_request(request("ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"))


@pytest.mark.parametrize("base", ["nim.example.com", "ftp://nim.example.com", "http://"])
def test_non_http_base_is_rejected(base):
    with pytest.raises(ConfigurationError, match="not an http"):
        url_for(api_base=base)


@pytest.mark.parametrize(
    "model",
    [
        "../../v1/models",
        "nvidia/../../admin",
        "nvidia/..",
        "nvidia/%2e%2e",
        "nvidia/model?x=1",
        "nvidia/model#frag",
        "nvidia//model",
        "nvidia/a/b",
        "nvidia/",
        "nvidia\\model",
        "nvidia/mod el",
        ".hidden/model",
    ],
)
def test_unsafe_model_paths_are_rejected(model):
    with pytest.raises(InvalidModelError, match="safe model path"):
        PROVIDER.build_request(request(model))


# -- catalogue and fallback ----------------------------------------------------------------


def test_catalogue_knows_body_and_path_names():
    model = lookup("nvidia/llama-nemotron-rerank-vl-1b-v2")
    assert model.id == "nvidia/llama-nemotron-rerank-vl-1b-v2"
    assert lookup("nvidia/nv-rerankqa-mistral-4b-v3").path == (
        "nvidia/nv-rerankqa-mistral-4b-v3/reranking"
    )


def test_fallback_converts_only_version_marks():
    model = fallback("acme/my_model-4_1-rerank_v2")
    assert model.id == "acme/my_model-4.1-rerank_v2"
    assert model.path == "acme/my_model-4_1-rerank_v2/reranking"
    assert fallback("acme/new-model-2.5").path == "acme/new-model-2_5/reranking"


# -- body and headers --------------------------------------------------------------------


def test_body_is_nims_wire_form():
    built = PROVIDER.build_request(request(params={"truncate": "END"}, top_n=1))
    assert built.method == "POST"
    assert built.json == {
        "model": "nvidia/llama-3.2-nv-rerankqa-1b-v2",
        "query": {"text": "which way?"},
        "passages": [{"text": "left"}, {"text": "right"}],
        "truncate": "END",
    }
    assert "top_n" not in json.dumps(built.json) and "top_k" not in json.dumps(built.json)


def test_truncate_is_omitted_unless_given():
    assert "truncate" not in PROVIDER.build_request(request()).json


def test_bearer_key_header_and_redacted_repr():
    built = PROVIDER.build_request(request())
    assert built.headers["Authorization"] == "Bearer nvapi-secret"
    assert "nvapi-secret" not in repr(built)
    assert "nvapi-secret" not in repr(request())


def test_hosted_api_requires_a_key_naming_the_env_var():
    with pytest.raises(MissingApiKeyError, match="NVIDIA_NIM_API_KEY"):
        PROVIDER.build_request(request(api_key=None))


def test_self_hosted_needs_no_key():
    built = PROVIDER.build_request(
        request(
            "ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2", api_key=None, api_base="http://h:8000"
        )
    )
    assert "Authorization" not in built.headers
    hosted_form_custom_base = PROVIDER.build_request(
        request(api_key=None, api_base="http://nim.internal:8000")
    )
    assert "Authorization" not in hosted_form_custom_base.headers


def test_custom_base_on_nvidia_domain_still_requires_key():
    with pytest.raises(MissingApiKeyError):
        PROVIDER.build_request(request(api_key=None, api_base="https://ai.api.nvidia.com/v1"))


# -- parsing ---------------------------------------------------------------------------


def response(body: object, status: int = 200) -> HttpResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, content)


def test_parse_rankings():
    ranking = PROVIDER.parse_response(
        response({"rankings": [{"index": 1, "logit": 6.8}, {"index": 0, "logit": -1.5}]}),
        request(),
    )
    assert ranking.scores == [(1, 6.8), (0, -1.5)]
    assert not ranking.partial


def test_parse_ignores_unknown_fields():
    body = {"rankings": [{"index": 0, "logit": 1.0, "x": 1}], "extra": True, "usage": {"t": 3}}
    ranking = PROVIDER.parse_response(response(body), request())
    assert ranking.scores == [(0, 1.0)]
    assert ranking.usage == {"t": 3}


@pytest.mark.parametrize(
    "body",
    [
        b"<html>bad gateway</html>",
        b"",
        [{"index": 0, "logit": 1}],
        {"results": []},
        {"rankings": [{"index": 0}]},
        {"rankings": ["x"]},
    ],
)
def test_parse_rejects_non_rankings_with_typed_error(body):
    with pytest.raises(InvalidResponseError) as info:
        PROVIDER.parse_response(response(body), request())
    assert info.value.model == f"nvidia_nim/{MODEL}"
    assert "nvapi-secret" not in str(info.value)
