"""Sans-I/O tests of the Bedrock provider: the built request, its signature, parsing, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from providers.bedrock.tests.sigv4_verifier import verify
from rerankit import HttpResponse, ProviderRequest
from rerankit.errors import (
    ConfigurationError,
    InvalidModelError,
    InvalidParameterError,
    InvalidRequestError,
    InvalidResponseError,
)
from rerankit_bedrock import MAX_TEXT_CHARS, AwsCredentials, BedrockProvider

NOW = datetime(2026, 12, 1, 22, 15, tzinfo=UTC)
KEYS = AwsCredentials("AKIAUNITTEST00001", "unit/test/secret/0123456789")


def provider(**kwargs) -> BedrockProvider:
    kwargs.setdefault("credentials", KEYS)
    return BedrockProvider(clock=lambda: NOW, **kwargs)


def request(model="amazon.rerank-v1:0", documents=("a", "b", "c"), **kwargs) -> ProviderRequest:
    return ProviderRequest(
        prefix="bedrock", model=model, query="q", documents=tuple(documents), **kwargs
    )


def build(model="amazon.rerank-v1:0", *, region="us-west-2", **kwargs):
    return provider(region=region).build_request(request(model, **kwargs))


def assert_verified(built, region="us-west-2"):
    """The built request passes an AWS-style signature check exactly as it would be sent."""
    target = built.url.split("/", 3)[3]
    headers = {k.lower(): v for k, v in built.headers.items()}
    signed = verify(
        "POST",
        "/" + target,
        headers,
        built.content,
        secrets={KEYS.access_key: KEYS.secret_key},
        now=NOW,
    )
    assert (signed.region, signed.service) == (region, "bedrock")


# -- the Rerank API -----------------------------------------------------------------------


def test_rerank_request_is_the_agent_runtime_wire():
    built = build()
    assert built.url == "https://bedrock-agent-runtime.us-west-2.amazonaws.com/rerank"
    assert (
        json.loads(built.content)
        == built.json
        == {
            "queries": [{"type": "TEXT", "textQuery": {"text": "q"}}],
            "sources": [
                {
                    "type": "INLINE",
                    "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": t}},
                }
                for t in "abc"
            ],
            "rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "numberOfResults": 3,
                    "modelConfiguration": {
                        "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"
                    },
                },
            },
        }
    )
    assert built.headers["Content-Type"] == "application/json"
    assert_verified(built)


def test_top_n_below_the_count_sets_number_of_results_and_partial():
    built = build(top_n=2)
    config = built.json["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config["numberOfResults"] == 2
    answer = HttpResponse(200, {}, b'{"results": [{"index": 1, "relevanceScore": 0.9}]}')
    assert provider(region="us-west-2").parse_response(answer, request(top_n=2)).partial


def test_additional_model_request_fields_are_passed_through():
    built = build(
        "cohere.rerank-v3-5:0",
        params={"additional_model_request_fields": {"max_tokens_per_doc": 300}},
    )
    model = built.json["rerankingConfiguration"]["bedrockRerankingConfiguration"][
        "modelConfiguration"
    ]
    assert model == {
        "modelArn": "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0",
        "additionalModelRequestFields": {"max_tokens_per_doc": 300},
    }


def test_body_bytes_are_utf8_json_and_signed():
    built = build(documents=("café ☕", "naïve"))
    assert "café ☕".encode() in built.content
    assert_verified(built)


def test_full_arn_is_used_as_is_and_gives_the_region():
    arn = "arn:aws:bedrock:eu-central-1::foundation-model/amazon.rerank-v1:0"
    built = build(arn, region="us-west-2")
    assert built.url == "https://bedrock-agent-runtime.eu-central-1.amazonaws.com/rerank"
    config = built.json["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config["modelConfiguration"]["modelArn"] == arn
    assert_verified(built, region="eu-central-1")


def test_region_argument_contradicting_the_arn_is_refused():
    arn = "arn:aws:bedrock:eu-central-1::foundation-model/amazon.rerank-v1:0"
    with pytest.raises(InvalidParameterError, match="contradicts the model ARN"):
        build(arn, params={"aws_region_name": "us-west-2"})


def test_china_regions_use_their_partition_and_domain():
    built = build(region="cn-north-1")
    assert built.url == "https://bedrock-agent-runtime.cn-north-1.amazonaws.com.cn/rerank"
    config = built.json["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config["modelConfiguration"]["modelArn"].startswith("arn:aws-cn:bedrock:cn-north-1::")


@pytest.mark.parametrize("bad", ["", "x" * (MAX_TEXT_CHARS + 1)])
def test_rerank_text_limits_are_checked_before_sending(bad):
    with pytest.raises(InvalidRequestError, match=f"1 to {MAX_TEXT_CHARS} characters.*document 1"):
        build(documents=("fine", bad))
    build(documents=("fine", "x" * MAX_TEXT_CHARS))  # the limit itself is allowed


# -- the InvokeModel route --------------------------------------------------------------


def test_invoke_request_is_cohere_body_on_bedrock_runtime():
    built = build("invoke/cohere.rerank-v3-5:0", top_n=2, params={"max_tokens_per_doc": 256})
    assert (
        built.url
        == "https://bedrock-runtime.us-west-2.amazonaws.com/model/cohere.rerank-v3-5:0/invoke"
    )
    assert json.loads(built.content) == {
        "query": "q",
        "documents": ["a", "b", "c"],
        "api_version": 2,
        "top_n": 2,
        "max_tokens_per_doc": 256,
    }
    assert_verified(built)


def test_invoke_with_an_arn_encodes_its_slash():
    arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123"
    built = build("invoke/" + arn)
    assert built.url.endswith(
        "/model/arn:aws:bedrock:us-east-1:123456789012:provisioned-model%2Fabc123/invoke"
    )
    assert_verified(built, region="us-east-1")


def test_invoke_parses_cohere_answer():
    answer = HttpResponse(
        200, {}, b'{"id": "x1", "results": [{"index": 0, "relevance_score": 0.5}]}'
    )
    ranking = provider().parse_response(
        answer, request("invoke/cohere.rerank-v3-5:0", documents=("a",))
    )
    assert (ranking.scores, ranking.id, ranking.partial) == ([(0, 0.5)], "x1", False)


# -- model strings and parameters ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "match"),
    [
        ("../../etc", "names no Bedrock model id"),
        ("amazon rerank", "names no Bedrock model id"),
        ("invoke/amazon.rerank-v1:0", "Cohere models"),
        ("invoke/", "names no Bedrock model id"),
        ("arn:aws:s3:::bucket", "not a Bedrock model ARN"),
        ("arn:aws:bedrock:us-west-2::foundation-model/x y", "not a Bedrock model ARN"),
    ],
)
def test_bad_model_strings_are_invalid_model_errors(model, match):
    with pytest.raises(InvalidModelError, match=match):
        build(model)


@pytest.mark.parametrize(
    ("model", "param"),
    [
        ("amazon.rerank-v1:0", {"max_tokens_per_doc": 10}),
        ("invoke/cohere.rerank-v3-5:0", {"additional_model_request_fields": {"a": 1}}),
    ],
)
def test_a_parameter_of_the_other_route_is_refused(model, param):
    with pytest.raises(InvalidParameterError, match="belongs to the"):
        build(model, params=param)


@pytest.mark.parametrize("region", ["us-west-2.evil.example", "US-WEST-2", "us", "../x"])
def test_region_must_be_a_region_name(region):
    with pytest.raises(InvalidParameterError, match="not an AWS region name"):
        build(params={"aws_region_name": region})


# -- region, endpoint and key resolution --------------------------------------------------


def test_region_precedence(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert "eu-west-1" in build(region=None).url
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    assert "ap-northeast-1" in build(region=None).url
    assert "ca-central-1" in build(region="ca-central-1").url
    assert "us-east-1" in build(region="ca-central-1", params={"aws_region_name": "us-east-1"}).url


def test_no_region_anywhere_says_where_to_set_one():
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        build(region=None)


def test_endpoint_precedence(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://global.test")
    assert build().url == "http://global.test/rerank"
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", "http://agent.test/")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://runtime.test")
    assert build().url == "http://agent.test/rerank"
    assert build("invoke/cohere.rerank-v3-5:0").url.startswith("http://runtime.test/model/")
    assert build(api_base="https://vpce.test/").url == "https://vpce.test/rerank"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert build().url == "https://bedrock-agent-runtime.us-west-2.amazonaws.com/rerank"


def test_signature_covers_a_custom_endpoint_host_and_port():
    built = build(api_base="http://127.0.0.1:8123")
    assert built.headers["Host"] == "127.0.0.1:8123"
    assert_verified(built)


def test_api_key_is_a_bearer_on_invoke_and_nothing_is_signed():
    built = build("invoke/cohere.rerank-v3-5:0", api_key="ABSK-key")
    assert built.headers["Authorization"] == "Bearer ABSK-key"
    assert "X-Amz-Date" not in built.headers


def test_bearer_env_serves_invoke_only(monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSK-env")
    assert build("invoke/cohere.rerank-v3-5:0").headers["Authorization"] == "Bearer ABSK-env"
    # The Agent Runtime takes no API keys; botocore signs there too despite the variable.
    assert build().headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_api_key_for_rerank_on_aws_is_refused_with_the_way_out():
    with pytest.raises(ConfigurationError, match=r"does not accept Bedrock API keys.*invoke"):
        build(api_key="ABSK-key")
    with pytest.raises(ConfigurationError):
        build(api_key="ABSK-key", api_base="https://bedrock-agent-runtime.us-west-2.amazonaws.com")
    # In front of a gateway of one's own, the key is that gateway's business.
    assert (
        build(api_key="k", api_base="https://gateway.test").headers["Authorization"] == "Bearer k"
    )


def test_temporary_credentials_send_the_session_token():
    temporary = AwsCredentials("ASIATEMP000000001", "temp/secret", "the-session-token")
    built = BedrockProvider(
        credentials=temporary, region="us-west-2", clock=lambda: NOW
    ).build_request(request())
    assert built.headers["X-Amz-Security-Token"] == "the-session-token"
    assert "the-session-token" not in repr(built)
    assert "temp/secret" not in repr(built)


def test_provider_repr_shows_no_credentials():
    shown = repr(provider(region="us-west-2"))
    assert KEYS.secret_key not in shown
    assert KEYS.access_key not in shown


def test_env_vars_lists_what_it_reads():
    names = BedrockProvider().env_vars()
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_ENDPOINT_URL",
    ):
        assert name in names
    assert len(names) == len(set(names))


# -- answers and errors -------------------------------------------------------------------


def parse(body, model="amazon.rerank-v1:0", status=200, headers=None):
    answer = HttpResponse(status, headers or {}, json.dumps(body).encode())
    return provider(region="us-west-2").parse_response(answer, request(model))


def test_rerank_answer_parses_and_ignores_echoed_documents():
    ranking = parse(
        {
            "results": [
                {
                    "index": 2,
                    "relevanceScore": 0.9,
                    "document": {"type": "TEXT", "textDocument": {"text": "c"}},
                },
                {"index": 0, "relevanceScore": 0.1},
                {"index": 1, "relevanceScore": 0.5},
            ]
        }
    )
    assert ranking.scores == [(2, 0.9), (0, 0.1), (1, 0.5)]
    assert not ranking.partial


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"results": [{"index": 0, "relevanceScore": 1}], "nextToken": "abc"}, "nextToken"),
        ({"results": [{"index": 0, "relevance_score": 1}]}, "lacks index/score"),
        ({"rankings": []}, "no 'results' list"),
        ([{"index": 0, "relevanceScore": 1}], "no 'results' list"),
    ],
)
def test_unreadable_answers_are_invalid_response_errors(body, match):
    with pytest.raises(InvalidResponseError, match=match):
        parse(body)


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        (
            {
                "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
            },
            {"message": "Too many requests"},
            "ThrottlingException: Too many requests",
        ),
        (
            {},
            {"__type": "com.amazon.coral#AccessDeniedException", "Message": "no"},
            "AccessDeniedException: no",
        ),
        ({}, {"message": "only words"}, "only words"),
        ({"x-amzn-errortype": "ModelNotReadyException"}, None, "ModelNotReadyException"),
    ],
)
def test_error_message_names_the_aws_error_code(headers, body, message):
    answer = HttpResponse(
        400, headers, json.dumps(body).encode() if body is not None else b"<html/>"
    )
    assert provider().error_message(answer) == message
