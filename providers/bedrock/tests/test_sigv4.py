"""The SigV4 signer against AWS's published examples, botocore's signer and the verifier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from providers.bedrock.tests.sigv4_verifier import SignatureRejected, verify
from rerankit_bedrock.sigv4 import AwsCredentials, sign

# AWS's SigV4 test suite: these credentials, this instant, region and service.
EXAMPLE = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
EXAMPLE_NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

KEYS = AwsCredentials("AKIATESTKEY0000", "test/secret+key/0123456789abcdefghijklmn", "sess-token-1")
NOW = datetime(2026, 12, 1, 22, 30, 15, tzinfo=UTC)
URL = "https://bedrock-runtime.us-west-2.amazonaws.com/model/cohere.rerank-v3-5%3A0/invoke"
BODY = '{"query":"q","documents":["café","b"],"api_version":2}'.encode()
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@pytest.mark.parametrize(
    ("method", "headers", "body", "signature"),
    [
        ("GET", {}, b"", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", {}, b"", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        (
            "POST",
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"Param1=value1",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        ),
    ],
    ids=["get-vanilla", "post-vanilla", "post-x-www-form-urlencoded"],
)
def test_matches_the_aws_test_suite(method, headers, body, signature):
    signed = sign(
        method,
        "https://example.amazonaws.com/",
        headers,
        body,
        credentials=EXAMPLE,
        region="us-east-1",
        service="service",
        now=EXAMPLE_NOW,
    )
    assert signed["X-Amz-Date"] == "20150830T123600Z"
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
    )
    assert signed["Authorization"].endswith(f"Signature={signature}")


def _signed(**overrides) -> dict[str, str]:
    args = {"credentials": KEYS, "region": "us-west-2", "service": "bedrock", "now": NOW}
    args.update(overrides)
    return sign("POST", URL, HEADERS, BODY, **args)


def test_matches_botocore_for_a_bedrock_request():
    """botocore's SigV4Auth, given the same headers and instant, computes the same signature."""
    ours = _signed()
    request = AWSRequest(
        method="POST",
        url=URL,
        data=BODY,
        headers={k: v for k, v in ours.items() if k not in ("Authorization", "Host")},
    )
    request.context["timestamp"] = ours["X-Amz-Date"]
    signer = SigV4Auth(
        Credentials(KEYS.access_key, KEYS.secret_key, KEYS.token), "bedrock", "us-west-2"
    )
    canonical = signer.canonical_request(request)
    theirs = signer.signature(signer.string_to_sign(request, canonical), request)
    assert ours["Authorization"].endswith(f"Signature={theirs}")
    # botocore encodes the already-encoded model id once more, as AWS expects.
    assert "/model/cohere.rerank-v3-5%253A0/invoke" in canonical


def _received(signed: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in signed.items()}


def _verify(headers, *, target="/model/cohere.rerank-v3-5%3A0/invoke", body=BODY, now=NOW):
    return verify(
        "POST",
        target,
        headers,
        body,
        secrets={KEYS.access_key: KEYS.secret_key},
        session_tokens={KEYS.access_key: KEYS.token},
        now=now,
    )


def test_verifier_accepts_what_botocore_signs():
    """The verifier is right independently of our signer: botocore's own request passes."""
    request = AWSRequest(method="POST", url=URL, data=BODY, headers=dict(HEADERS))
    creds = Credentials(KEYS.access_key, KEYS.secret_key, KEYS.token)
    SigV4Auth(creds, "bedrock", "us-west-2").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "bedrock-runtime.us-west-2.amazonaws.com"
    stamp = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    signed = _verify(headers, now=stamp)
    assert (signed.region, signed.service) == ("us-west-2", "bedrock")


def test_verifier_accepts_our_signature():
    signed = _verify(_received(_signed()))
    assert signed.access_key == KEYS.access_key
    assert signed.names == ["accept", "content-type", "host", "x-amz-date", "x-amz-security-token"]


def _tampered(what: str) -> tuple[dict[str, str], dict]:
    """A signed request with one thing changed after signing, and the verify() overrides."""
    if what == "secret":
        wrong = AwsCredentials(KEYS.access_key, "not-the-secret", KEYS.token)
        return _received(_signed(credentials=wrong)), {}
    headers = _received(_signed())
    changes: dict = {
        "body": ({}, {"body": BODY.replace(b"q", b"Q")}),
        "path": ({}, {"target": "/model/cohere.rerank-v3-5:0/invoke"}),
        "host": ({"host": "bedrock-runtime.us-east-1.amazonaws.com"}, {}),
        "content-type": ({"content-type": "text/plain"}, {}),
        "token": ({"x-amz-security-token": "another-token"}, {}),
        "clock": ({}, {"now": NOW + timedelta(minutes=6)}),
    }
    header_changes, overrides = changes[what]
    return {**headers, **header_changes}, overrides


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("body", "does not match"),
        ("path", "does not match"),
        ("host", "does not match"),
        ("content-type", "does not match"),
        ("token", "token"),
        ("clock", "expired"),
        ("secret", "does not match"),
    ],
)
def test_verifier_rejects_a_changed_request(what, reason):
    headers, overrides = _tampered(what)
    with pytest.raises(SignatureRejected, match=reason):
        _verify(headers, **overrides)


def test_temporary_credentials_send_and_sign_the_session_token():
    signed = _signed()
    assert signed["X-Amz-Security-Token"] == KEYS.token
    assert "x-amz-security-token" in signed["Authorization"]
    plain = _signed(credentials=AwsCredentials(KEYS.access_key, KEYS.secret_key))
    assert "X-Amz-Security-Token" not in plain


def test_host_carries_a_non_default_port_only():
    assert (
        sign(
            "POST",
            "http://127.0.0.1:8123/rerank",
            {},
            b"",
            credentials=KEYS,
            region="us-west-2",
            service="bedrock",
            now=NOW,
        )["Host"]
        == "127.0.0.1:8123"
    )
    assert (
        sign(
            "POST",
            "https://h.example:443/rerank",
            {},
            b"",
            credentials=KEYS,
            region="us-west-2",
            service="bedrock",
            now=NOW,
        )["Host"]
        == "h.example"
    )
    assert (
        sign(
            "POST",
            "http://[::1]:9000/rerank",
            {},
            b"",
            credentials=KEYS,
            region="us-west-2",
            service="bedrock",
            now=NOW,
        )["Host"]
        == "[::1]:9000"
    )


def test_credentials_repr_hides_the_secret_and_token():
    shown = repr(KEYS)
    assert KEYS.access_key in shown
    assert KEYS.secret_key not in shown
    assert KEYS.token not in shown
