"""A Bedrock deployment in the proxy's config: region and profile are parameters, keys are not."""

from __future__ import annotations

import pytest

from rerankit.plugins import get_plugin_manager
from rerankit.registry import ProviderRegistry
from rerankit_proxy import ProxyConfigError, parse_config


def config(**litellm_params):
    data = {
        "model_list": [
            {
                "model_name": "rerank",
                "litellm_params": {"model": "bedrock/cohere.rerank-v3-5:0", **litellm_params},
            }
        ]
    }
    registry = ProviderRegistry.from_plugins(get_plugin_manager())
    return parse_config(data, registry=registry, master_key="sk-test-master")


def test_region_is_a_deployment_parameter(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAPROXYCONFIG01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "proxy/secret")
    (deployment,) = config(aws_region_name="us-west-2").deployments
    assert dict(deployment.params) == {"aws_region_name": "us-west-2"}


def test_keys_in_the_config_are_refused_at_start_up():
    with pytest.raises(ProxyConfigError, match="aws_secret_access_key") as info:
        config(aws_region_name="us-west-2", aws_secret_access_key="in-the-config")
    assert "in-the-config" not in str(info.value)


def test_missing_credentials_fail_the_start_up_check(monkeypatch):
    # The proxy's start-up check builds one request per deployment: botocore's chain runs.
    with pytest.raises(ProxyConfigError, match="No AWS credentials found"):
        config(aws_region_name="us-west-2")
