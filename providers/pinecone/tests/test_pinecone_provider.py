"""Sans-I/O tests of the Pinecone provider: Api-Key and version headers, object documents."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import InvalidParameterError, InvalidResponseError, MissingApiKeyError
from rerankit_pinecone import PineconeProvider
from rerankit_pinecone.provider import API_VERSION

PROVIDER = PineconeProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "pinecone",
        "model": "bge-reranker-v2-m3",
        "query": "Tell me about Apple's products",
        "documents": ("Apple is a fruit", "Apple makes the iPhone"),
        "api_key": "pcsk-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert (PROVIDER.name, PROVIDER.api_key_env) == ("Pinecone", "PINECONE_API_KEY")
    assert PROVIDER.score_kind == "probability"
    assert PROVIDER.max_documents_per_request == 100


def test_request_wire_form():
    built = PROVIDER.build_request(request(top_n=1, params={"truncate": "END"}))
    assert built.url == "https://api.pinecone.io/rerank"
    assert built.headers["Api-Key"] == "pcsk-secret"
    # 2025-10 stops being supported in October 2026 under Pinecone's 12-month policy.
    assert built.headers["X-Pinecone-API-Version"] == API_VERSION == "2026-07"
    assert "Authorization" not in built.headers
    assert "pcsk-secret" not in repr(built)
    assert built.json == {
        "model": "bge-reranker-v2-m3",
        "query": "Tell me about Apple's products",
        "documents": [{"text": "Apple is a fruit"}, {"text": "Apple makes the iPhone"}],
        "top_n": 1,
        "return_documents": False,
        "parameters": {"truncate": "END"},
    }


def test_api_version_per_call_goes_in_the_header_not_the_body():
    built = PROVIDER.build_request(request(params={"api_version": "2026-10", "truncate": "NONE"}))
    assert built.headers["X-Pinecone-API-Version"] == "2026-10"
    assert "api_version" not in built.json
    assert built.json["parameters"] == {"truncate": "NONE"}


def test_api_version_per_provider():
    built = PineconeProvider(api_version="2025-10").build_request(request())
    assert built.headers["X-Pinecone-API-Version"] == "2025-10"


@pytest.mark.parametrize("bad", ["latest", "2026-7", "2026-07\r\nX-Evil: 1", "", "2026-07."])
def test_api_version_that_is_not_a_version_is_refused(bad):
    with pytest.raises(InvalidParameterError, match="api_version"):
        PROVIDER.build_request(request(params={"api_version": bad}))
    with pytest.raises(InvalidParameterError, match="api_version"):
        PineconeProvider(api_version=bad)


def test_bare_host_as_the_sdk_writes_it_is_https():
    built = PROVIDER.build_request(request(api_base="eu.pinecone.example"))
    assert built.url == "https://eu.pinecone.example/rerank"


def test_key_required():
    with pytest.raises(MissingApiKeyError, match="PINECONE_API_KEY"):
        PROVIDER.build_request(request(api_key=None))


def test_documented_answer():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "model": "bge-reranker-v2-m3",
                "data": [
                    {
                        "index": 1,
                        "document": {"id": "vec2", "text": "Apple makes the iPhone"},
                        "score": 0.84,
                    },
                    {"index": 0, "score": 0.047},
                ],
                "usage": {"rerank_units": 1},
            }
        ),
        request(),
    )
    assert ranking.scores == [(1, 0.84), (0, 0.047)]
    assert ranking.usage == {"rerank_units": 1}
    assert ranking.partial is False


def test_cohere_score_key_is_not_pinecone():
    with pytest.raises(InvalidResponseError, match="'score'"):
        PROVIDER.parse_response(answer({"data": [{"index": 0, "relevance_score": 1}]}), request())
