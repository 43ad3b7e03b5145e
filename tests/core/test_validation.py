"""Input checks the issue lists that test_client.py does not already pin, before any I/O."""

from __future__ import annotations

import httpx
import pytest

from rerankit import AsyncClient, Client
from rerankit.errors import InvalidParameterError, InvalidRequestError
from rerankit.validation import check_documents

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
        ({"timeout": float("nan")}, "timeout must be a number of seconds > 0"),
        ({"timeout": -1.5}, "timeout must be a number of seconds > 0"),
        ({"timeout": 0.0}, "timeout must be a number of seconds > 0"),
        ({"timeout": True}, "timeout must be a number of seconds > 0"),
        ({"timeout": "5"}, "timeout must be a number of seconds > 0"),
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


class Text(str):
    """A str subclass: still text, and checked one by one (not by the list's fast path)."""


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ([], "documents is empty"),
        (["ok", 3], r"documents\[1\] must be a string"),
        (["ok", None], r"documents\[1\] must be a string or an object .* got None"),
        (["ok", "caf\ud800"], r"documents\[1\] holds a lone surrogate \(U\+D800\) at character 3"),
        (("ok", "\udfff"), r"documents\[1\] holds a lone surrogate"),
        ([Text("ok"), "\ud800"], r"documents\[1\] holds a lone surrogate"),
        ("a string", "documents must be a list"),
    ],
)
def test_check_documents_refuses_whatever_the_fast_path_does_not_take(documents, message):
    with pytest.raises(InvalidRequestError, match=message):
        check_documents(documents)


@pytest.mark.parametrize(
    "documents",
    [["plain", "ascii"], ["café", "naïve ☃"], ("a", "tuple"), [Text("sub"), {"text": "obj"}]],
)
def test_check_documents_gives_the_texts_in_order(documents):
    texts = check_documents(documents)
    assert texts == tuple(d if isinstance(d, str) else d["text"] for d in documents)
    assert type(texts) is tuple
