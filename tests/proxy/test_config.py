"""Loading the proxy's config: both spellings, env values, and each start-up error."""

from __future__ import annotations

import logging
import textwrap

import pytest

from rerankit_proxy import (
    ProxyConfigError,
    default_config,
    load_config,
    parse_config,
)

NIM = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
SELF = "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"
ENV = {"NIM_KEY": "nvapi-from-env-1234", "MASTER": "sk-master-from-env"}


def write(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path, text: str, environ=ENV):
    return load_config(write(tmp_path, text), environ=environ)


def error(tmp_path, text: str, environ=ENV) -> str:
    with pytest.raises(ProxyConfigError) as caught:
        load(tmp_path, text, environ)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "config.yaml"))  # names the file
    return message


def test_gateway_spelling_as_is(tmp_path):
    config = load(
        tmp_path,
        f"""
        model_list:
          - model_name: nvidia-rerank
            litellm_params:
              model: {NIM}
              api_key: os.environ/NIM_KEY
              truncate: END
              timeout: 12
              max_retries: 1
            model_info: {{id: nim-a, mode: rerank}}
        general_settings:
          master_key: os.environ/MASTER
        router_settings:
          num_retries: 4
          timeout: 9
          routing_strategy: simple-shuffle
          fallbacks: [{{nvidia-rerank: [nvidia-rerank]}}]
        """,
    )
    (d,) = config.deployments
    assert (d.id, d.model_name, d.model) == ("nim-a", "nvidia-rerank", NIM)
    assert d.api_key == "nvapi-from-env-1234"
    assert dict(d.params) == {"truncate": "END"}
    assert (d.timeout, d.max_retries) == (12.0, 1)
    assert config.master_key == "sk-master-from-env"
    assert not config.generated_master_key
    assert config.router.num_retries == 4
    assert config.router.timeout == 9.0
    assert config.router.routing_strategy == "round-robin"
    assert "nvapi-from-env-1234" not in repr(config)
    assert "sk-master-from-env" not in repr(config)


def test_native_spelling_matches_the_gateway_one(tmp_path):
    gateway = load(
        tmp_path,
        f"""
        model_list:
          - {{model_name: m, litellm_params: {{model: {NIM}, api_key: k-123456789}}}}
        general_settings: {{master_key: sk-12345678}}
        """,
    )
    native = load(
        tmp_path,
        f"""
        model_list:
          - {{model_name: m, params: {{model: {NIM}, api_key: k-123456789}}}}
        general_settings: {{master_key: sk-12345678}}
        """,
    )
    assert gateway.deployments == native.deployments


def test_keys_and_limits(tmp_path):
    config = load(
        tmp_path,
        """
        model_list:
          - {model_name: a, params: {model: local/bm25}}
          - {model_name: b, params: {model: local/bm25, k1: 1.2}}
        keys:
          - {name: team, key: os.environ/MASTER, models: [a], rpm: 60}
          - {name: all, key: sk-everything-1, models: ["*"]}
        limits: {max_documents: 5, request_timeout: 3.5}
        """,
    )
    team, everything = config.keys
    assert (team.name, team.models, team.rpm) == ("team", frozenset({"a"}), 60)
    assert everything.models is None
    assert config.limits.max_documents == 5
    assert config.limits.request_timeout == 3.5
    assert config.limits.max_body_bytes == 16 * 1024 * 1024
    assert config.generated_master_key and config.master_key.startswith("sk-rerankit-")


def test_missing_env_var_names_field_and_variable(tmp_path):
    message = error(
        tmp_path,
        f"""
        model_list:
          - model_name: m
            litellm_params: {{model: {NIM}, api_key: os.environ/NOT_SET_ANYWHERE}}
        """,
    )
    assert "model_list[0].litellm_params.api_key" in message
    assert "NOT_SET_ANYWHERE is not set" in message
    assert "Set NOT_SET_ANYWHERE" in message


def test_unknown_provider_prefix_lists_installed(tmp_path):
    message = error(tmp_path, "model_list: [{model_name: m, params: {model: cohre/rerank-v3}}]")
    assert "model_list[0].params" in message
    assert "'cohre'" in message
    assert "Did you mean 'cohere'" in message
    assert "nvidia_nim" in message and "local" in message


def test_conflicting_duplicate_model_names(tmp_path):
    message = error(
        tmp_path,
        f"""
        model_list:
          - {{model_name: m, params: {{model: {SELF}, api_base: "http://a:8000"}}}}
          - {{model_name: m, params: {{model: local/bm25}}}}
        """,
    )
    assert "model_list[1]" in message and "model_list[0]" in message
    assert "different provider" in message
    assert "another model_name" in message


def test_same_model_on_two_bases_is_a_group_not_a_conflict(tmp_path):
    config = load(
        tmp_path,
        f"""
        model_list:
          - {{model_name: m, params: {{model: {SELF}, api_base: "http://a:8000"}}}}
          - {{model_name: m, params: {{model: {SELF}, api_base: "http://b:8000"}}}}
        """,
    )
    assert [d.id for d in config.deployments] == ["m#1", "m#2"]


def test_bad_yaml_names_line_and_column(tmp_path):
    message = error(tmp_path, "model_list:\n  - model_name: [unclosed\n")
    assert "line" in message and "column" in message
    assert "not valid YAML" in message


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("", ["empty"]),
        ("model_list: []", ["model_list", "non-empty list"]),
        ("model_lists: []", ["model_lists", "not a known setting", "model_list"]),
        (
            f"model_list: [{{model_name: m, params: {{model: {NIM}, api_key: k-123, top_k: 3}}}}]",
            ["params.top_k", "not a parameter", "truncate"],
        ),
        (
            f"model_list: [{{model_name: m, params: {{model: {NIM}, truncate: MIDDLE}}}}]",
            ["truncate", "'NONE', 'END'"],
        ),
        (
            f"model_list: [{{model_name: m, params: {{model: {NIM}}}}}]",
            ["NVIDIA_NIM_API_KEY"],
        ),
        (
            f"model_list: [{{model_name: m, params: {{model: {NIM}, api_base: 'ftp://x'}}}}]",
            ["http(s) URL"],
        ),
        (
            "model_list: [{model_name: m, params: {model: nvidia_nim/../../etc}}]",
            ["not a safe model path"],
        ),
        (
            "model_list: [{model_name: m, params: {model: local/bm25}}]\n"
            "general_settings: {master_key: ' spaced-key'}",
            ["master_key", "at least 8", "no surrounding spaces"],
        ),
        (
            "model_list: [{model_name: m, params: {model: local/bm25}}]\n"
            "keys: [{name: k, key: sk-12345678, models: [other]}]",
            ["keys[0].models", "'other'"],
        ),
        (
            "model_list: [{model_name: m, params: {model: local/bm25}}]\n"
            "router_settings: {fallbacks: [{m: [nowhere]}]}",
            ["router_settings.fallbacks[0].m", "'nowhere'"],
        ),
        (
            "model_list: [{model_name: m, params: {model: local/bm25}}]\n"
            "router_settings: {routing_strategy: latency-based-routing}",
            ["routing_strategy", "least-busy"],
        ),
        (
            "model_list: [{model_name: m, params: {model: local/bm25}}]\n"
            "limits: {max_documents: 0}",
            ["limits.max_documents", ">= 1"],
        ),
        (
            "model_list: [{model_name: 'm/*', params: {model: local/bm25}}]",
            ["wildcard"],
        ),
        (
            "model_list:\n"
            " - {model_name: m, id: x, params: {model: local/bm25}}\n"
            " - {model_name: n, id: x, params: {model: local/bm25}}",
            ["model_list[1].id", "already used"],
        ),
    ],
)
def test_startup_errors_say_where_and_what_to_do(tmp_path, text, needles):
    message = error(tmp_path, text, environ={})
    for needle in needles:
        assert needle in message


def test_ignored_gateway_settings_are_logged_not_fatal(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        config = load(
            tmp_path,
            """
            model_list: [{model_name: m, litellm_params: {model: local/bm25, rpm: 10}}]
            litellm_settings: {drop_params: true}
            general_settings: {master_key: sk-12345678, database_url: "postgres://x"}
            """,
        )
    assert config.deployments[0].params == {}
    logged = caplog.text
    assert "rpm" in logged and "litellm_settings" in logged and "database_url" in logged
    assert "postgres://x" not in logged


def test_default_config_serves_every_installed_provider():
    config = default_config()
    names = config.model_names()
    assert "local/*" in names and "nvidia_nim/*" in names
    assert config.generated_master_key
    assert default_config().master_key != config.master_key
    assert default_config(master_key="sk-given-1234").master_key == "sk-given-1234"


def test_parse_config_accepts_a_mapping():
    config = parse_config(
        {"model_list": [{"model_name": "m", "params": {"model": "local/bm25"}}]},
        master_key="sk-fixed-key-1",
    )
    assert config.master_key == "sk-fixed-key-1"
    assert not config.generated_master_key
    assert config.source == "<config>"
