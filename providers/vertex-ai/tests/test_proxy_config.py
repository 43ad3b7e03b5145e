"""A Vertex AI deployment in the proxy's config: project and location are parameters."""

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
                "litellm_params": {"model": "vertex_ai/semantic-ranker-fast-004", **litellm_params},
            }
        ]
    }
    registry = ProviderRegistry.from_plugins(get_plugin_manager())
    return parse_config(data, registry=registry, master_key="sk-test-master")


def test_project_and_location_are_deployment_parameters():
    (deployment,) = config(
        api_key="ya29.access-token", vertex_project="my-project", vertex_location="eu"
    ).deployments
    assert dict(deployment.params) == {"vertex_project": "my-project", "vertex_location": "eu"}


def test_a_credentials_parameter_is_refused_at_start_up():
    with pytest.raises(ProxyConfigError, match="vertex_credentials"):
        config(vertex_project="my-project", vertex_credentials='{"private_key": "..."}')


def test_a_bad_project_fails_the_start_up_check():
    with pytest.raises(ProxyConfigError, match="is not a Google Cloud project id"):
        config(api_key="ya29.access-token", vertex_project="a/b")
