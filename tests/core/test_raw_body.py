"""`HttpRequest.content`: a provider's exact body bytes reach the upstream unchanged.

A provider that signs its body (AWS SigV4 hashes the payload) must have the bytes it signed
on the wire; httpx and aiohttp serialize `json` differently, so the clients send `content`
verbatim on every path: sync, async over aiohttp (the short path) and async over httpx.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

import rerankit
from rerankit import HttpProvider, HttpRequest, HttpResponse, ProviderRequest, Ranking
from rerankit.registry import ProviderRegistry
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen

#: Deliberately unlike any serializer's output: spaces, key order, an escaped non-ASCII.
RAW = b'{ "query" :"caf\\u00e9",   "documents":["a","b"] }'


class RawBodyProvider(HttpProvider):
    """Sends RAW as its body, and a `json` that describes it differently."""

    name: ClassVar[str] = "RawBody"

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        body: dict[str, Any] = {"documents": list(request.documents), "query": request.query}
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        return HttpRequest("POST", f"{request.api_base}/raw", headers, body, content=RAW)

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        return Ranking([(i, 1.0 - i / 10) for i in range(len(request.documents))])


def _answer(seen: Seen) -> Reply:
    return Reply(200, {"ok": True})


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(_answer) as running:
        yield running


@pytest.fixture
def registry() -> ProviderRegistry:
    reg = ProviderRegistry()
    reg.register("raw", RawBodyProvider())
    return reg


def _check(server: FakeRerankServer) -> None:
    (seen,) = server.requests
    assert seen.body == RAW
    assert seen.headers["content-type"] == "application/x-amz-json-1.1"
    assert seen.headers["content-length"] == str(len(RAW))
    assert json.loads(seen.body) == {"query": "café", "documents": ["a", "b"]}


def test_sync_client_sends_the_bytes_verbatim(server, registry):
    server.clear()
    with rerankit.Client(registry=registry, max_retries=0) as client:
        client.rerank("raw/m", "café", ["a", "b"], api_base=server.url)
    _check(server)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_async_client_sends_the_bytes_verbatim(server, registry, monkeypatch, transport):
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    server.clear()
    async with rerankit.AsyncClient(registry=registry, max_retries=0) as client:
        await client.rerank("raw/m", "café", ["a", "b"], api_base=server.url)
    _check(server)


def test_repr_shows_neither_body_nor_secret_headers():
    request = HttpRequest("POST", "https://x.test/", {"Authorization": "AWS4 secret"}, content=RAW)
    assert "secret" not in repr(request)
    assert "caf" not in repr(request)


def test_aws_session_token_is_masked_in_the_repr():
    headers = {"X-Amz-Security-Token": "session-token-secret", "X-Amz-Date": "20260101T000000Z"}
    shown = repr(HttpRequest("POST", "https://x.test/", headers, content=RAW))
    assert "session-token-secret" not in shown
    assert "20260101T000000Z" in shown
