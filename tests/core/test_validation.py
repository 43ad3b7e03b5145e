"""Input checks the issue lists that test_client.py does not already pin, before any I/O."""

from __future__ import annotations

import httpx
import pytest

from rerankit import AsyncClient, Client
from rerankit.errors import InvalidParameterError, InvalidRequestError

from .fakes import registry


def refuse_all(seen: list[httpx.Request]):
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    return handle


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": 42}, "query must be a string, got int"),
        ({"query": "\n\t "}, "query is empty"),
        ({"documents": None}, "documents must be a list"),
        ({"documents": (d for d in ["a"])}, "documents must be a list"),
        ({"documents": {"text": "a"}}, "documents must be a list"),
        ({"documents": [b"bytes"]}, r"documents\[0\] must be a string .* got bytes"),
        ({"documents": ["a", {"text": None}]}, r"documents\[1\] .* got an object with keys"),
        ({"top_n": -1}, "top_n must be >= 1"),
        ({"top_n": "3"}, "top_n must be a whole number >= 1 or None, got str"),
        ({"fallbacks": "local/bm25"}, "fallbacks must be a list"),
        ({"max_retries": None}, "max_retries must be a whole number"),
    ],
)
def test_more_bad_input_is_rejected_before_any_request(kwargs, message):
    seen: list[httpx.Request] = []
    client = Client(transport=httpx.MockTransport(refuse_all(seen)), registry=registry())
    call = {"query": "q", "documents": ["a", "b"], **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        client.rerank("echo/m", **call)
    assert seen == []


async def test_async_client_validates_the_same_way():
    seen: list[httpx.Request] = []
    async with AsyncClient(
        transport=httpx.MockTransport(refuse_all(seen)), registry=registry()
    ) as client:
        with pytest.raises(InvalidRequestError, match=r"documents\[2\]"):
            await client.rerank("echo/m", "q", ["a", "b", None])
        with pytest.raises(InvalidParameterError, match="top_n"):
            await client.rerank("echo/m", "q", ["a"], top_n=0)
    assert seen == []


def test_client_options_are_validated_at_construction():
    with pytest.raises(InvalidParameterError, match="max_retries"):
        Client(max_retries=-1)
    with pytest.raises(InvalidParameterError, match="timeout"):
        Client(timeout=0)
    with pytest.raises(InvalidParameterError, match="max_documents_per_request"):
        Client(max_documents_per_request={"nvidia_nim": 0})
    with pytest.raises(InvalidParameterError, match="max_concurrency"):
        Client(max_concurrency=0)
