"""Sans-I/O tests of the vLLM provider: path by base form, no return-documents flag."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import ConfigurationError
from rerankit_vllm import VllmProvider

PROVIDER = VllmProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "hosted_vllm",
        "model": "BAAI/bge-reranker-v2-m3",
        "query": "What is the capital of France?",
        "documents": ("The capital of France is Paris.", "Brazil is big."),
        "api_base": "http://vllm.local:8000",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def test_metadata():
    assert PROVIDER.name == "vLLM"
    assert PROVIDER.api_key_env == "HOSTED_VLLM_API_KEY"
    assert PROVIDER.api_base_env == ("HOSTED_VLLM_API_BASE",)
    assert PROVIDER.score_kind == "unknown"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://vllm.local:8000", "http://vllm.local:8000/rerank"),
        ("http://vllm.local:8000/", "http://vllm.local:8000/rerank"),
        ("http://vllm.local:8000/v1", "http://vllm.local:8000/v1/rerank"),
        ("http://vllm.local:8000/v1/", "http://vllm.local:8000/v1/rerank"),
        ("http://vllm.local:8000/v2", "http://vllm.local:8000/v2/rerank"),
        ("http://vllm.local:8000/v1/rerank", "http://vllm.local:8000/v1/rerank"),
    ],
)
def test_path_follows_base_form(base, url):
    assert PROVIDER.build_request(request(api_base=base)).url == url


def test_request_wire_form():
    built = PROVIDER.build_request(
        request(top_n=1, api_key="vllm-k", params={"truncate_prompt_tokens": 256})
    )
    assert built.headers["Authorization"] == "Bearer vllm-k"
    assert built.json == {
        "model": "BAAI/bge-reranker-v2-m3",
        "query": "What is the capital of France?",
        "documents": ["The capital of France is Paris.", "Brazil is big."],
        "top_n": 1,
        "truncate_prompt_tokens": 256,
    }


def test_base_required():
    with pytest.raises(ConfigurationError, match="HOSTED_VLLM_API_BASE"):
        PROVIDER.build_request(request(api_base=None))


def test_documented_answer():
    body = {
        "id": "rerank-abc",
        "model": "BAAI/bge-reranker-v2-m3",
        "usage": {"total_tokens": 23},
        "results": [
            {
                "index": 0,
                "document": {"text": "The capital of France is Paris."},
                "relevance_score": 0.99,
            },
            {"index": 1, "document": {"text": "Brazil is big."}, "relevance_score": 0.0002},
        ],
    }
    ranking = PROVIDER.parse_response(HttpResponse(200, {}, json.dumps(body).encode()), request())
    assert ranking.scores == [(0, 0.99), (1, 0.0002)]
    assert ranking.usage == {"total_tokens": 23}
    assert ranking.partial is False
