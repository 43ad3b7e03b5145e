"""rerankit against a fake Bedrock on 127.0.0.1 that checks every SigV4 signature as AWS does.

The plugin is found through its installed entry point; credentials come from the real
botocore chain (environment variables here); the clock is the real one. Each test loads the
plugins into a fresh registry: a provider keeps the credentials it loaded, as a boto3
client does, and tests change them.
"""

from __future__ import annotations

import pytest

import rerankit
from providers.bedrock.tests.fake_bedrock import (
    ACCESS_KEY,
    API_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    FakeBedrock,
    aws_error,
)
from rerankit.errors import (
    APIStatusError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from rerankit.plugins import get_plugin_manager
from rerankit.registry import ProviderRegistry
from tests.fakes.rerank_server import FakeRerankServer, Reply, ranked

QUERY = "capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada",
    "Washington D.C. is the capital of the united states",
    "Capital punishment has existed in the united states since before it was a country",
]
RERANK = "bedrock/amazon.rerank-v1:0"
INVOKE = "bedrock/invoke/cohere.rerank-v3-5:0"


@pytest.fixture(scope="module")
def fake():
    return FakeBedrock()


@pytest.fixture(scope="module")
def server(fake):
    with FakeRerankServer(fake.handle) as running:
        yield running


@pytest.fixture(autouse=True)
def _aws(server, fake, monkeypatch):
    server.clear()
    fake.signed.clear()
    fake.answer = None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)


def _fresh() -> ProviderRegistry:
    return ProviderRegistry.from_plugins(get_plugin_manager())


@pytest.fixture
def client():
    with rerankit.Client(registry=_fresh(), timeout=10, max_retries=0) as c:
        yield c


def test_rerank_api_round_trip_is_signed(server, fake, client):
    r = client.rerank(RERANK, QUERY, DOCS, top_n=2)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[1]
    assert r.meta.score_kind == "probability"
    (sent,) = server.requests
    assert sent.path == "/rerank"
    assert sent.json["rerankingConfiguration"]["bedrockRerankingConfiguration"] == {
        "numberOfResults": 2,
        "modelConfiguration": {
            "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
        },
    }
    (signed,) = fake.signed
    assert (signed.access_key, signed.region, signed.service) == (
        ACCESS_KEY,
        "us-west-2",
        "bedrock",
    )


def test_invoke_route_round_trip_is_signed(server, fake, client):
    r = client.rerank(INVOKE, QUERY, DOCS, max_tokens_per_doc=512)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert r.id == "invoke-cohere.rerank-v3-5:0"
    (sent,) = server.requests
    assert sent.path == "/model/cohere.rerank-v3-5:0/invoke"
    assert sent.json == {
        "query": QUERY,
        "documents": DOCS,
        "api_version": 2,
        "max_tokens_per_doc": 512,
    }
    assert fake.signed[0].service == "bedrock"


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_async_client_sends_the_signed_bytes(server, fake, monkeypatch, transport):
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    docs = [*DOCS, "Ünïcödé café in the united states capital"]
    async with rerankit.AsyncClient(registry=_fresh(), timeout=10, max_retries=0) as client:
        r = await client.rerank(RERANK, QUERY, docs)
        await client.rerank(INVOKE, QUERY, docs)
    assert len(r.results) == 4
    assert len(fake.signed) == 2
    assert all(s.access_key == ACCESS_KEY for s in fake.signed)


def test_split_call_signs_each_request(server, fake, client):
    docs = [f"document {i} about the united states" for i in range(1001)]
    r = client.rerank(RERANK, QUERY, docs)
    assert sorted(x.index for x in r.results) == list(range(1001))
    assert sorted(len(s.json["sources"]) for s in server.requests) == [1, 1000]
    assert len(fake.signed) == 2


def test_bedrock_api_key_goes_as_bearer_on_invoke(server, fake, client, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", API_KEY)
    client.rerank(INVOKE, QUERY, DOCS)
    (sent,) = server.requests
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert "x-amz-date" not in sent.headers
    assert fake.signed == ["bearer"]


def test_wrong_secret_is_rejected_like_aws_does(server, client, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(
        PermissionDeniedError, match="InvalidSignatureException: The request signature"
    ) as info:
        client.rerank(RERANK, QUERY, DOCS)
    assert "not-the-secret" not in str(info.value)
    assert SESSION_TOKEN not in repr(info.value.__dict__)


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (429, "ThrottlingException", RateLimitError),
        (429, "ModelNotReadyException", RateLimitError),
        (403, "AccessDeniedException", PermissionDeniedError),
        (400, "ValidationException", BadRequestError),
        (400, "ServiceQuotaExceededException", BadRequestError),
        (404, "ResourceNotFoundException", NotFoundError),
        (424, "DependencyFailedException", APIStatusError),
        (408, "ModelTimeoutException", APIStatusError),
        (500, "InternalServerException", ServerError),
        (502, "BadGatewayException", ServerError),
        (503, "ServiceUnavailableException", ServerError),
    ],
)
def test_bedrock_errors_map_to_the_tree(fake, client, status, code, error):
    fake.answer = lambda seen: aws_error(status, code, f"{code} happened")
    with pytest.raises(error) as info:
        client.rerank(RERANK, QUERY, DOCS)
    assert type(info.value) is error
    assert info.value.status_code == status
    assert f"{code}: {code} happened" in str(info.value)
    assert info.value.provider == "AWS Bedrock"
    assert info.value.model == RERANK


def test_throttling_is_retried_with_the_same_signed_request(server, fake):
    answers = iter([aws_error(429, "ThrottlingException", "Rate exceeded"), None])

    def once_throttled(seen):
        reply = next(answers)
        fake.answer = None
        return reply if reply is not None else fake.handle(seen)

    fake.answer = once_throttled
    with rerankit.Client(
        registry=_fresh(), timeout=10, max_retries=1, retry_backoff=0.01
    ) as client:
        r = client.rerank(RERANK, QUERY, DOCS)
    assert len(r.results) == 3
    assert len(server.requests) == 2
    assert len(fake.signed) == 2


def test_unreadable_answer_is_typed(fake, client):
    fake.answer = lambda seen: Reply(200, "<html>gateway</html>")
    with pytest.raises(rerankit.InvalidResponseError, match="not JSON"):
        client.rerank(RERANK, QUERY, DOCS)
