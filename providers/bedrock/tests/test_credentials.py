"""Credentials and region through botocore's real chain: environment, files, profiles."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from providers.bedrock.tests.sigv4_verifier import verify
from rerankit import ProviderRequest
from rerankit.errors import ConfigurationError
from rerankit_bedrock import BedrockProvider

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def build(**params):
    provider = BedrockProvider(clock=lambda: NOW)
    return provider.build_request(
        ProviderRequest(
            prefix="bedrock", model="amazon.rerank-v1:0", query="q", documents=("d",), params=params
        )
    )


def signer(built, secrets):
    headers = {k.lower(): v for k, v in built.headers.items()}
    return verify("POST", "/rerank", headers, built.content, secrets=secrets, now=NOW)


def test_environment_keys_sign_the_request(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env/secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    built = build()
    assert signer(built, {"AKIAFROMENV000001": "env/secret"}).region == "us-west-2"
    assert built.headers["X-Amz-Security-Token"] == "env-token"


@pytest.fixture
def aws_files(tmp_path, monkeypatch):
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIADEFAULT000001\naws_secret_access_key = default/secret\n"
        "[team]\naws_access_key_id = AKIATEAM000000001\naws_secret_access_key = team/secret\n"
    )
    (tmp_path / "config").write_text(
        "[default]\nregion = eu-central-1\n[profile team]\nregion = ap-northeast-1\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))


def test_shared_files_give_credentials_and_region(aws_files):
    built = build()
    assert "eu-central-1" in built.url
    assert signer(built, {"AKIADEFAULT000001": "default/secret"}).access_key == "AKIADEFAULT000001"


def test_profile_parameter_selects_credentials_and_region(aws_files):
    built = build(aws_profile_name="team")
    assert "ap-northeast-1" in built.url
    assert signer(built, {"AKIATEAM000000001": "team/secret"}).region == "ap-northeast-1"


def test_aws_profile_variable_selects_the_profile(aws_files, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "team")
    assert "ap-northeast-1" in build().url


def test_unknown_profile_is_a_configuration_error(aws_files):
    with pytest.raises(ConfigurationError, match="profile 'nobody'"):
        build(aws_profile_name="nobody", aws_region_name="us-west-2")


def test_no_credentials_says_what_to_set(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    with pytest.raises(ConfigurationError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        build()


def test_credentials_are_loaded_once_per_profile(aws_files, tmp_path):
    provider = BedrockProvider(clock=lambda: NOW)
    req = ProviderRequest(prefix="bedrock", model="amazon.rerank-v1:0", query="q", documents=("d",))
    first = provider.build_request(req)
    (tmp_path / "credentials").write_text("")  # gone from disk: the loaded ones still serve
    second = provider.build_request(req)
    assert first.headers["Authorization"] == second.headers["Authorization"]
