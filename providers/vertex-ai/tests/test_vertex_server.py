"""rerankit against a fake Google on 127.0.0.1: real ADC files, a real token exchange, the rank API.

google-auth reads the service-account file named by GOOGLE_APPLICATION_CREDENTIALS, whose
`token_uri` points at the fake token endpoint (google-auth pins user credentials' token
endpoint to Google's own, so those cannot be pointed at a fake); the bearer it obtains
must reach the fake ranking API. The plugin is loaded through its entry point into a
fresh registry per test (a provider keeps the credentials and token it loaded, as Google's
clients do).
"""

from __future__ import annotations

import pytest

import rerankit
from rerankit.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from rerankit.plugins import get_plugin_manager
from rerankit.registry import ProviderRegistry
from tests.fakes.rerank_server import ranked

MODEL = "vertex_ai/semantic-ranker-default-004"
QUERY = "capital of the united states"
DOCS = [
    "Carson City is the capital city of the American state of Nevada",
    "Washington D.C. is the capital of the united states",
    "Capital punishment has existed in the united states since before it was a country",
]


def _client(**kwargs) -> rerankit.Client:
    registry = ProviderRegistry.from_plugins(get_plugin_manager())
    return rerankit.Client(registry=registry, timeout=10, max_retries=0, **kwargs)


@pytest.fixture
def adc(google, tmp_path, monkeypatch):
    path = google.service_account_file(tmp_path)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "billing-project")
    return google


def test_adc_token_reaches_the_ranking_api(adc, google_server):
    server, google = google_server
    with _client() as client:
        r = client.rerank(MODEL, QUERY, DOCS, top_n=2, api_base=server.url)
    assert [(x.index, x.relevance_score) for x in r.results] == ranked(QUERY, DOCS, 2)
    assert r.results[0].document.text == DOCS[1]
    [grant] = google.token_requests
    assert grant["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    [sent] = google.rank_requests
    assert sent.path == (
        "/v1/projects/my-project/locations/global/rankingConfigs/default_ranking_config:rank"
    )
    assert sent.headers["authorization"].removeprefix("Bearer ") in google.issued
    assert sent.headers["x-goog-user-project"] == "billing-project"
    assert sent.json == {
        "model": "semantic-ranker-default-004",
        "query": QUERY,
        "records": [{"id": str(i), "content": d} for i, d in enumerate(DOCS)],
        "ignoreRecordDetailsInResponse": True,
        "topN": 2,
    }


def test_without_project_variables_the_credentials_project_is_used(
    google, google_server, tmp_path, monkeypatch
):
    server, _ = google_server
    path = google.service_account_file(tmp_path)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    with _client() as client:
        r = client.rerank(MODEL, QUERY, DOCS, api_base=server.url, vertex_location="eu")
    assert len(r.results) == 3
    # The service account file's project_id.
    assert google.rank_requests[0].path.startswith("/v1/projects/sa-project/locations/eu/")


def test_a_valid_token_is_reused(adc, google_server):
    server, google = google_server
    with _client() as client:
        for _ in range(3):
            client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert len(google.token_requests) == 1
    assert len({s.headers["authorization"] for s in google.rank_requests}) == 1


def test_a_token_near_expiry_is_refreshed_before_use(adc, google_server):
    server, google = google_server
    # 60 s is inside google-auth's refresh margin (minutes): each call gets a fresh token
    # before the old one expires, never a 401.
    google.expires_in = 60
    with _client() as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert len(google.token_requests) == 2
    first, second = (s.headers["authorization"] for s in google.rank_requests)
    assert first != second


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_async_client_sends_the_same_bearer(adc, google_server, monkeypatch, transport):
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    server, google = google_server
    registry = ProviderRegistry.from_plugins(get_plugin_manager())
    async with rerankit.AsyncClient(registry=registry, timeout=10, max_retries=0) as client:
        r = await client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert [x.index for x in r.results] == [i for i, _ in ranked(QUERY, DOCS)]
    assert len(google.token_requests) == 1


def test_split_call_uses_positions_per_request(adc, google_server):
    server, google = google_server
    docs = [f"document {i} about the united states" for i in range(201)]
    with _client() as client:
        r = client.rerank(MODEL, QUERY, docs, api_base=server.url)
    assert sorted(x.index for x in r.results) == list(range(201))
    assert sorted(len(s.json["records"]) for s in google.rank_requests) == [1, 200]
    assert len(google.token_requests) == 1


def test_access_token_as_api_key_skips_adc(google, google_server, monkeypatch):
    server, _ = google_server
    google.issued["ya29.given-by-gcloud"] = 4e9
    monkeypatch.setenv("VERTEXAI_PROJECT", "env-project")
    with _client() as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url, api_key="ya29.given-by-gcloud")
    assert google.token_requests == []
    [sent] = google.rank_requests
    assert sent.headers["authorization"] == "Bearer ya29.given-by-gcloud"
    assert "/projects/env-project/" in sent.path


def test_rejected_grant_is_an_authentication_error(google, google_server, tmp_path, monkeypatch):
    server, _ = google_server
    path = google.service_account_file(tmp_path, client_email="intruder@x.iam.gserviceaccount.com")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    with _client() as client, pytest.raises(AuthenticationError, match="invalid_grant") as info:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert google.rank_requests == []
    assert "PRIVATE KEY" not in str(info.value)
    assert info.value.provider == "Vertex AI"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (429, "RESOURCE_EXHAUSTED", RateLimitError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
        (400, "INVALID_ARGUMENT", BadRequestError),
        (400, "FAILED_PRECONDITION", BadRequestError),
        (401, "UNAUTHENTICATED", AuthenticationError),
        (404, "NOT_FOUND", NotFoundError),
        (500, "INTERNAL", ServerError),
        (503, "UNAVAILABLE", ServerError),
        (504, "DEADLINE_EXCEEDED", ServerError),
    ],
)
def test_google_errors_map_to_the_tree(adc, google_server, status, code, error):
    server, google = google_server
    google.answer = lambda seen: google.error(status, code, f"{code.lower()} happened")
    with _client() as client, pytest.raises(error) as info:
        client.rerank(MODEL, QUERY, DOCS, api_base=server.url)
    assert type(info.value) is error
    assert info.value.status_code == status
    assert f"{code}: {code.lower()} happened" in str(info.value)
    assert info.value.provider == "Vertex AI"
