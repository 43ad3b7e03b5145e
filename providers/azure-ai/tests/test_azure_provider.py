"""Sans-I/O tests of the Azure AI provider: Cohere's wires on a deployment URL, its auth."""

from __future__ import annotations

import json

import httpx
import pytest

import rerankit
from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import ConfigurationError, InvalidParameterError, MissingApiKeyError
from rerankit.registry import ProviderRegistry
from rerankit_azure_ai import AzureAIProvider
from rerankit_azure_ai.provider import V1, V2
from rerankit_cohere.provider import V1 as COHERE_V1
from rerankit_cohere.provider import V2 as COHERE_V2

PROVIDER = AzureAIProvider()
DEPLOYMENT = "https://Cohere-rerank-v3-5-abcde.eastus.models.ai.azure.com"


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "azure_ai",
        "model": "rerank-v3.5",
        "query": "What is the capital of the United States?",
        "documents": ("Carson City is in Nevada", "Washington, D.C. is the capital"),
        "api_base": DEPLOYMENT,
        "api_key": "azure-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def test_metadata():
    assert PROVIDER.name == "Azure AI"
    assert PROVIDER.api_key_env == "AZURE_AI_API_KEY"
    assert PROVIDER.api_base_env == ("AZURE_AI_API_BASE",)
    assert PROVIDER.score_kind == "probability"
    assert PROVIDER.max_documents_per_request == 1000
    assert set(PROVIDER.params) == {"max_tokens_per_doc", "max_chunks_per_doc"}


def test_wires_are_cohere_s_not_copies():
    for azure, cohere in ((V1, COHERE_V1), (V2, COHERE_V2)):
        for field in ("path", "documents_field", "top_n_field", "results_keys", "score_key"):
            assert getattr(azure, field) == getattr(cohere, field)


def test_v2_request_on_the_deployment_url_with_bearer():
    built = PROVIDER.build_request(request(top_n=1, params={"max_tokens_per_doc": 512}))
    assert built.url == f"{DEPLOYMENT}/v2/rerank"
    assert built.headers["Authorization"] == "Bearer azure-secret"
    assert "azure-secret" not in repr(built)
    assert built.json == {
        "model": "rerank-v3.5",
        "query": "What is the capital of the United States?",
        "documents": ["Carson City is in Nevada", "Washington, D.C. is the capital"],
        "top_n": 1,
        "max_tokens_per_doc": 512,
    }


def test_v1_by_model_string_and_a_base_given_as_the_full_v1_url():
    built = PROVIDER.build_request(
        request(model="v1/rerank-english-v3.0", api_base=f"{DEPLOYMENT}/v1/rerank")
    )
    assert built.url == f"{DEPLOYMENT}/v1/rerank"
    assert built.json["model"] == "rerank-english-v3.0"
    assert built.json["return_documents"] is False


def test_deployment_url_is_required_and_the_error_says_what_it_is():
    with pytest.raises(ConfigurationError, match="AZURE_AI_API_BASE") as caught:
        PROVIDER.build_request(request(api_base=None))
    assert "Target URI" in str(caught.value)


@pytest.mark.parametrize(
    "base",
    [
        DEPLOYMENT,
        "https://my-resource.services.ai.azure.com/providers/cohere",
        "https://my-resource.cognitiveservices.azure.com",
        "https://gw.azure-api.net/rerank",
    ],
)
def test_key_or_token_required_on_azure_hosts(base):
    with pytest.raises(MissingApiKeyError, match="AZURE_AI_API_KEY") as caught:
        PROVIDER.build_request(request(api_base=base, api_key=None))
    assert "AZURE_AI_AUTH=entra_id" in str(caught.value)


@pytest.mark.parametrize("base", ["http://127.0.0.1:4000", "https://azure.com.example.org"])
def test_no_credential_needed_off_azure(base):
    built = PROVIDER.build_request(request(api_base=base, api_key=None))
    assert "Authorization" not in built.headers


def test_api_key_header_when_the_resource_wants_it():
    built = AzureAIProvider(key_header="api-key").build_request(request())
    assert built.headers["api-key"] == "azure-secret"
    assert "Authorization" not in built.headers
    assert "azure-secret" not in repr(built)


def test_unknown_key_header_is_refused():
    with pytest.raises(ConfigurationError, match="key_header"):
        AzureAIProvider(key_header="X-Key")


def test_token_provider_is_used_when_no_key_and_a_key_wins_over_it():
    calls: list[int] = []

    def token() -> str:
        calls.append(1)
        return "entra-token"

    provider = AzureAIProvider(token_provider=token)
    assert provider.build_request(request(api_key=None)).headers["Authorization"] == (
        "Bearer entra-token"
    )
    assert provider.build_request(request()).headers["Authorization"] == "Bearer azure-secret"
    assert len(calls) == 1  # the key path never asks for a token


def test_token_provider_must_be_callable():
    with pytest.raises(ConfigurationError, match="callable"):
        AzureAIProvider(token_provider="not-callable")  # type: ignore[arg-type]


def test_answer_parses_as_cohere_v2():
    body = {
        "id": "00001111",
        "results": [{"index": 1, "relevance_score": 0.999}, {"index": 0, "relevance_score": 0.3}],
        "meta": {"billed_units": {"search_units": 1}},
    }
    ranking = PROVIDER.parse_response(HttpResponse(200, {}, json.dumps(body).encode()), request())
    assert ranking.scores == [(1, 0.999), (0, 0.3)]
    assert ranking.id == "00001111"


def test_priority_is_not_accepted_on_azure():
    registry = ProviderRegistry()
    registry.register("azure_ai", PROVIDER)
    sent: list[httpx.Request] = []
    client = rerankit.Client(transport=httpx.MockTransport(sent.append), registry=registry)
    with client, pytest.raises(InvalidParameterError, match="priority"):
        client.rerank(
            "azure_ai/rerank-v3.5", "q", ["d"], api_base=DEPLOYMENT, api_key="k", priority=1
        )
    assert sent == []
