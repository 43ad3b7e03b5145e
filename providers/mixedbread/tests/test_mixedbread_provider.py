"""Sans-I/O tests of the Mixedbread provider: `input`, `top_k`, `return_input`, `score`."""

from __future__ import annotations

import json

import pytest

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import InvalidResponseError, MissingApiKeyError
from rerankit_mixedbread import MixedbreadProvider

PROVIDER = MixedbreadProvider()


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "mixedbread",
        "model": "mixedbread-ai/mxbai-rerank-large-v2",
        "query": "Who wrote To Kill a Mockingbird?",
        "documents": ("Harper Lee wrote it", "Moby-Dick is by Melville", "Jane Austen"),
        "api_key": "mxb-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object) -> HttpResponse:
    return HttpResponse(200, {}, json.dumps(body).encode())


def test_metadata():
    assert (PROVIDER.name, PROVIDER.api_key_env) == ("Mixedbread", "MXBAI_API_KEY")
    assert PROVIDER.score_kind == "unknown"
    assert PROVIDER.max_documents_per_request == 1000


def test_request_wire_form():
    built = PROVIDER.build_request(request(top_n=2, params={"rewrite_query": True}))
    assert built.url == "https://api.mixedbread.com/v1/reranking"
    assert built.headers["Authorization"] == "Bearer mxb-secret"
    assert built.json == {
        "model": "mixedbread-ai/mxbai-rerank-large-v2",
        "query": "Who wrote To Kill a Mockingbird?",
        "input": ["Harper Lee wrote it", "Moby-Dick is by Melville", "Jane Austen"],
        "top_k": 2,
        "return_input": False,
        "rewrite_query": True,
    }


def test_key_required_for_the_hosted_api_only():
    with pytest.raises(MissingApiKeyError, match="MXBAI_API_KEY"):
        PROVIDER.build_request(request(api_key=None))
    built = PROVIDER.build_request(request(api_key=None, api_base="http://mxbai.local:8000"))
    assert built.url == "http://mxbai.local:8000/v1/reranking"


def test_documented_answer():
    ranking = PROVIDER.parse_response(
        answer(
            {
                "object": "list",
                "model": "mixedbread-ai/mxbai-rerank-large-v2",
                "top_k": 2,
                "return_input": True,
                "data": [
                    {
                        "index": 0,
                        "score": 0.91,
                        "input": "Harper Lee wrote it",
                        "object": "rank_result",
                    },
                    {"index": 2, "score": 0.21, "input": None},
                ],
                "usage": {"prompt_tokens": 120, "total_tokens": 120},
            }
        ),
        request(top_n=2),
    )
    assert ranking.scores == [(0, 0.91), (2, 0.21)]
    assert ranking.partial is True
    assert ranking.usage == {"prompt_tokens": 120, "total_tokens": 120}


@pytest.mark.parametrize(
    "item", [{"index": 0, "relevance_score": 0.5}, {"position": 0, "score": 0.5}]
)
def test_items_without_mixedbread_fields_are_invalid(item):
    with pytest.raises(InvalidResponseError):
        PROVIDER.parse_response(answer({"data": [item]}), request())
