"""rerankit against a real HTTP server on 127.0.0.1 speaking what a Cohere rerank
deployment on Azure AI Foundry speaks: Cohere's v2 (and v1) rerank on the deployment URL,
`Authorization: Bearer <key or Entra token>`, Azure's error shape.

The keyed tests find the plugin through its installed entry point; the Entra ID tests
register a provider with a fake credential on their own registry.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

import rerankit
from rerankit.errors import AuthenticationError, RateLimitError
from rerankit.registry import ProviderRegistry
from rerankit_azure_ai import AzureAIProvider, EntraIdToken
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

KEY = "azure_key_never_logged"
QUERY = "capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada",
    "Washington D.C. is the capital of the united states",
    "Capital punishment has existed in the united states",
]
ENV = ("AZURE_AI_API_KEY", "AZURE_AI_API_BASE", "AZURE_AI_AUTH", "AZURE_AI_ENTRA_SCOPE")


class Deployment:
    """The fake deployment: which bearer values it accepts."""

    def __init__(self) -> None:
        self.accepted = {KEY}

    def __call__(self, seen: Seen) -> Reply:
        auth = seen.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.accepted:
            return Reply(
                401,
                {"error": {"code": "Unauthorized", "message": "Access denied due to invalid key"}},
            )
        if seen.path not in ("/v1/rerank", "/v2/rerank"):
            return Reply(404, {"error": {"code": "NotFound", "message": "Resource not found"}})
        body = seen.json
        pairs = ranked(body["query"], body["documents"], body.get("top_n"))
        return Reply(
            200,
            {
                "id": "azure-answer-1",
                "results": [{"index": i, "relevance_score": s} for i, s in pairs],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            },
        )


@pytest.fixture(scope="module")
def deployment():
    return Deployment()


@pytest.fixture(scope="module")
def server(deployment):
    with FakeRerankServer(deployment) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(server, deployment, monkeypatch):
    server.handler = deployment
    deployment.accepted = {KEY}
    server.clear()
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def client():
    with rerankit.Client(timeout=10, max_retries=0) as c:
        yield c


def test_v2_round_trip_checks_what_is_sent(server, client):
    r = client.rerank(
        "azure_ai/rerank-v3.5",
        QUERY,
        DOCS,
        top_n=2,
        max_tokens_per_doc=512,
        api_base=server.url,
        api_key=KEY,
    )
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.id == "azure-answer-1"
    assert r.meta.score_kind == "probability"
    (sent,) = server.requests
    assert sent.path == "/v2/rerank"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json == {
        "model": "rerank-v3.5",
        "query": QUERY,
        "documents": DOCS,
        "top_n": 2,
        "max_tokens_per_doc": 512,
    }


def test_v1_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("AZURE_AI_API_BASE", server.url)
    monkeypatch.setenv("AZURE_AI_API_KEY", KEY)
    r = rerankit.rerank("azure_ai/v1/rerank-english-v3.0", QUERY, DOCS, max_chunks_per_doc=2)
    assert len(r.results) == 3
    (sent,) = server.requests
    assert sent.path == "/v1/rerank"
    assert sent.json == {
        "model": "rerank-english-v3.0",
        "query": QUERY,
        "documents": DOCS,
        "return_documents": False,
        "max_chunks_per_doc": 2,
    }


def test_invalid_key_is_an_authentication_error_with_azure_s_message(server, client):
    with pytest.raises(AuthenticationError, match="invalid key") as caught:
        client.rerank("azure_ai/rerank-v3.5", QUERY, DOCS, api_base=server.url, api_key="wrong")
    assert "wrong" not in str(caught.value).replace("invalid key", "")


def test_429_carries_retry_after(server, client):
    server.handler = lambda seen: Reply(
        429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, {"Retry-After": "7"}
    )
    with pytest.raises(RateLimitError) as caught:
        client.rerank("azure_ai/rerank-v3.5", QUERY, DOCS, api_base=server.url, api_key=KEY)
    assert caught.value.retry_after == 7


# -- Microsoft Entra ID ------------------------------------------------------------------------


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class FakeCredential:
    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.issued: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = f"entra-{len(self.issued) + 1}"
        self.issued.append(token)
        return AccessToken(token, int(self.clock[0]) + 3600)


def test_entra_token_reaches_the_deployment_and_is_refreshed(server, deployment):
    now = [1_700_000_000.0]
    credential = FakeCredential(now)
    token = EntraIdToken(credential, clock=lambda: now[0])
    registry = ProviderRegistry()
    registry.register("azure_ai", AzureAIProvider(token_provider=token))
    deployment.accepted = {"entra-1", "entra-2"}
    with rerankit.Client(registry=registry, timeout=10, max_retries=0) as client:
        for _ in range(3):
            client.rerank("azure_ai/rerank-v3.5", QUERY, DOCS, api_base=server.url)
        now[0] += 3600 - 60  # inside the 5-minute refresh margin
        client.rerank("azure_ai/rerank-v3.5", QUERY, DOCS, api_base=server.url)
    sent = [s.headers["authorization"] for s in server.requests]
    assert sent == ["Bearer entra-1"] * 3 + ["Bearer entra-2"]
    assert credential.issued == ["entra-1", "entra-2"]


async def test_entra_token_with_the_async_client(server, deployment):
    now = [1_700_000_000.0]
    token = EntraIdToken(FakeCredential(now), clock=lambda: now[0])
    token.refresh()  # out of the request path, as the docs advise for async code
    registry = ProviderRegistry()
    registry.register("azure_ai", AzureAIProvider(token_provider=token))
    deployment.accepted = {"entra-1"}
    async with rerankit.AsyncClient(registry=registry, timeout=10, max_retries=0) as client:
        r = await client.rerank("azure_ai/rerank-v3.5", QUERY, DOCS, api_base=server.url)
    assert len(r.results) == 3
    assert server.requests[-1].headers["authorization"] == "Bearer entra-1"
