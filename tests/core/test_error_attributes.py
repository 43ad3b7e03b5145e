"""What a failed call learns goes into attributes that `str()` renders; args stay as built.

And warnings point at the caller's own line, whichever entry point it called.
"""

from __future__ import annotations

import json
import warnings

import httpx
import pytest

import rerankit
from rerankit import AsyncClient, Client
from rerankit.errors import BadRequestError, ProviderError, RerankitWarning, ServerError

from .fakes import registry


def scorer(request: httpx.Request) -> httpx.Response:
    docs = json.loads(request.content)["documents"]
    return httpx.Response(
        200, json={"results": [{"index": i, "score": 0.0} for i in range(len(docs))]}
    )


def failing(status: int, detail: str = "broke", when: str | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["documents"]
        if when is None or when in docs:
            return httpx.Response(status, json={"detail": detail})
        return scorer(request)

    return handle


def make(handler, **kwargs) -> Client:
    return Client(
        transport=httpx.MockTransport(handler), registry=registry(), retry_backoff=0.001, **kwargs
    )


def test_retries_are_attributes_rendered_after_the_message():
    with pytest.raises(ServerError) as info:
        make(failing(503)).rerank("echo/m", "q", ["a", "b"], api_key="sk-secret-key", max_retries=2)
    error = info.value
    assert (error.attempts, error.last_status, error.attempts_noted) == (3, 503, True)
    assert len(error.args) == 1 and "gave up" not in error.args[0]
    assert str(error) == f"{error.args[0]} (gave up after 3 attempts, last upstream status 503)"


def test_a_failed_chunk_is_described_by_attributes():
    docs = [f"d{i}" for i in range(6)]
    with pytest.raises(ServerError) as info:
        make(failing(500, when="d3")).rerank(
            "echo/m", "q", docs, max_documents_per_request=2, max_retries=0
        )
    error = info.value
    assert (error.document_range, error.document_count, error.document_index) == ((2, 4), 6, None)
    assert "documents 2..3" not in error.args[0]
    assert str(error).endswith(" [documents 2..3 of 6 failed]")


def test_an_over_long_document_is_named_by_attributes():
    detail = "Input length 9000 exceeds maximum allowed token size 8192"
    docs = ["a", "b" * 50, "c"]
    with pytest.raises(BadRequestError) as info:
        make(failing(400, detail)).rerank("echo/m", "q", docs)
    error = info.value
    assert (error.document_index, error.document_length) == (1, 50)
    assert error.args[0].endswith("8192.")
    assert "most likely documents[1], the longest in that request (50 characters)" in str(error)


def test_every_fallback_failing_lists_them_as_an_attribute():
    client = make(failing(503), fallbacks=["echo/other"], max_retries=0)
    with pytest.raises(ServerError) as info:
        client.rerank("echo/m", "q", ["a"], api_key="sk-secret-key")
    error = info.value
    assert [t["model"] for t in error.fallbacks_tried] == ["echo/m"]
    assert "every fallback" not in error.args[0]
    assert str(error).endswith("(every fallback failed; earlier: echo/m: ServerError)")


def test_keys_stay_masked_in_the_rendered_message():
    def echo_key(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": f"bad key {request.headers['authorization']}"})

    client = make(echo_key, fallbacks=["echo/other"], max_retries=1)
    with pytest.raises(ProviderError) as info:
        client.rerank("echo/m", "q", ["a"], api_key="sk-secret-key")
    error = info.value
    rendered = [str(error), repr(error), *map(str, error.args), str(error.body)]
    assert not any("sk-secret-key" in text for text in rendered)
    assert "***" in str(error) and "gave up after 2 attempts" in str(error)


def test_the_warning_moved_to_errors_and_the_old_path_still_works():
    from rerankit._pipeline import RerankitWarning as old

    assert old is RerankitWarning is rerankit.RerankitWarning
    assert issubclass(RerankitWarning, UserWarning)


def _dropped(record: list[warnings.WarningMessage]) -> warnings.WarningMessage:
    [found] = [w for w in record if issubclass(w.category, RerankitWarning)]
    assert "Dropped parameter(s) top_k" in str(found.message)
    return found


def test_drop_params_warning_points_at_the_callers_line_for_sync_calls():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        rerankit.rerank("local/bm25", "q", ["a", "b"], top_k=1, drop_params=True)
    assert _dropped(record).filename == __file__
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        make(scorer).rerank("echo/m", "q", ["a"], top_k=1, drop_params=True)
    assert _dropped(record).filename == __file__


async def test_drop_params_warning_points_at_the_callers_line_for_async_calls():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        await rerankit.arerank("local/bm25", "q", ["a", "b"], top_k=1, drop_params=True)
    assert _dropped(record).filename == __file__
    client = AsyncClient(transport=httpx.MockTransport(scorer), registry=registry())
    async with client:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            await client.rerank("echo/m", "q", ["a"], top_k=1, drop_params=True)
    assert _dropped(record).filename == __file__
