"""Sans-I/O tests of the Vertex AI ranking provider: URL, body, project/location, parsing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from google.oauth2.credentials import Credentials

from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import (
    ConfigurationError,
    InvalidModelError,
    InvalidParameterError,
    InvalidResponseError,
)
from rerankit_vertex_ai import VertexAIProvider

TOKEN = "ya29.static-test-token"


def provider(**kwargs) -> VertexAIProvider:
    # A token without expiry is valid forever: google-auth never refreshes it.
    kwargs.setdefault("credentials", Credentials(token=TOKEN))
    return VertexAIProvider(**kwargs)


def request(model="semantic-ranker-default-004", documents=("a", "b", "c"), **kwargs):
    return ProviderRequest(
        prefix="vertex_ai", model=model, query="q", documents=tuple(documents), **kwargs
    )


def build(model="semantic-ranker-default-004", *, project="p-1", location=None, **kwargs):
    return provider(project=project, location=location).build_request(request(model, **kwargs))


def test_request_is_the_rank_method():
    built = build()
    assert built.url == (
        "https://discoveryengine.googleapis.com/v1/projects/p-1/locations/global/"
        "rankingConfigs/default_ranking_config:rank"
    )
    assert built.json == {
        "model": "semantic-ranker-default-004",
        "query": "q",
        "records": [
            {"id": "0", "content": "a"},
            {"id": "1", "content": "b"},
            {"id": "2", "content": "c"},
        ],
        "ignoreRecordDetailsInResponse": True,
    }
    assert built.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(built)


def test_top_n_is_sent_only_when_it_cuts():
    assert build(top_n=2).json["topN"] == 2
    assert "topN" not in build(top_n=3).json


def test_regional_location_uses_its_host():
    built = build(params={"vertex_location": "eu"})
    assert built.url.startswith(
        "https://eu-discoveryengine.googleapis.com/v1/projects/p-1/locations/eu/"
    )


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:9/", "http://127.0.0.1:9/v1", "http://127.0.0.1:9"]
)
def test_api_base_replaces_the_root(base):
    assert build(api_base=base).url.startswith("http://127.0.0.1:9/v1/projects/p-1/")


def test_api_key_is_an_access_token_used_as_is():
    built = VertexAIProvider(project="p-1").build_request(request(api_key="ya29.from-gcloud"))
    assert built.headers["Authorization"] == "Bearer ya29.from-gcloud"


def test_project_and_location_precedence(monkeypatch):
    monkeypatch.setenv("GCLOUD_PROJECT", "legacy-env")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "cloud-env")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us")
    assert "/projects/cloud-env/locations/us/" in build(project=None).url
    monkeypatch.setenv("VERTEXAI_PROJECT", "vertex-env")
    monkeypatch.setenv("VERTEXAI_LOCATION", "eu")
    assert "/projects/vertex-env/locations/eu/" in build(project=None).url
    assert "/projects/ctor/locations/global/" in build(project="ctor", location="global").url
    given = build(project="ctor", params={"vertex_project": "arg", "vertex_location": "us"})
    assert "/projects/arg/locations/us/" in given.url


def test_no_project_with_an_access_token_says_what_to_set():
    with pytest.raises(ConfigurationError, match=r"vertex_project=.*GOOGLE_CLOUD_PROJECT"):
        VertexAIProvider().build_request(request(api_key="ya29.x"))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"vertex_project": "p/../../x"}, InvalidParameterError),
        ({"vertex_project": "Has Space"}, InvalidParameterError),
        ({"vertex_location": "eu.evil.example"}, InvalidParameterError),
    ],
)
def test_project_and_location_must_be_names(params, error):
    with pytest.raises(error, match="is not a Google Cloud"):
        build(params=params)


def test_bad_project_in_the_environment_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "a/b")
    with pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        build(project=None)


@pytest.mark.parametrize("model", ["", "Semantic Ranker", "../x", "a/b"])
def test_model_must_be_a_model_id(model):
    with pytest.raises(InvalidModelError, match="semantic-ranker-default-004"):
        build(model)


def parse(body, **kwargs):
    answer = HttpResponse(200, {}, json.dumps(body).encode())
    return provider(project="p").parse_response(answer, request(**kwargs))


def test_records_parse_by_position_id():
    ranking = parse(
        {
            "records": [
                {"id": "2", "score": 0.9},
                {"id": "0", "score": 0.4},
                {"id": "1", "score": 0.1},
            ]
        }
    )
    assert ranking.scores == [(2, 0.9), (0, 0.4), (1, 0.1)]
    assert not ranking.partial


def test_a_score_left_out_is_zero():
    # Google's JSON omits fields that hold their default value, a score of 0 included.
    ranking = parse(
        {"records": [{"id": "0", "score": 0.5}, {"id": "1"}, {"id": "2", "score": 0.2}]}
    )
    assert ranking.scores == [(0, 0.5), (1, 0.0), (2, 0.2)]


def test_top_n_answer_is_partial():
    assert parse({"records": [{"id": "1", "score": 0.9}]}, top_n=1).partial


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"records": [{"id": "x", "score": 1}]}, "no position id"),
        ({"records": [{"id": 0, "score": 1}]}, "no position id"),
        ({"records": [{"id": "-1", "score": 1}]}, "no position id"),
        ({"records": [{"id": "\u0661", "score": 1}]}, "no position id"),  # Arabic-Indic 1
        ({"results": []}, "no 'records' list"),
        ([{"id": "0", "score": 1}], "no 'records' list"),
    ],
)
def test_unreadable_answers_are_invalid_response_errors(body, match):
    with pytest.raises(InvalidResponseError, match=match):
        parse(body)


def test_error_message_is_status_and_message():
    body = {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}}
    answer = HttpResponse(429, {}, json.dumps(body).encode())
    assert provider().error_message(answer) == "RESOURCE_EXHAUSTED: Quota exceeded."
    assert provider().error_message(HttpResponse(502, {}, b"<html>")) is None


def test_env_vars_and_repr():
    names = VertexAIProvider().env_vars()
    assert {"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "VERTEXAI_LOCATION"} <= set(
        names
    )
    assert repr(provider(project="p-1")) == "VertexAIProvider(project='p-1', location=None)"


def test_without_any_credentials_says_how_to_get_them(tmp_path):
    """google-auth's real ADC search, in a clean process (it reads some variables at import)."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_"))
    }
    env |= {"CLOUDSDK_CONFIG": str(tmp_path), "NO_GCE_CHECK": "true", "GOOGLE_CLOUD_PROJECT": "p"}
    code = textwrap.dedent(
        """
        from rerankit import ProviderRequest
        from rerankit.errors import ConfigurationError
        from rerankit_vertex_ai import VertexAIProvider
        try:
            VertexAIProvider().build_request(
                ProviderRequest(prefix="vertex_ai", model="semantic-ranker-default-004",
                                query="q", documents=("d",)))
        except ConfigurationError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "No Google credentials found" in done.stdout, done.stderr
    assert "GOOGLE_APPLICATION_CREDENTIALS" in done.stdout
