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
            model_list:
              - {model_name: m, litellm_params: {model: local/bm25, max_parallel_requests: 10}}
            litellm_settings: {drop_params: true}
            general_settings: {master_key: sk-12345678, database_url: "postgres://x"}
            """,
        )
    assert config.deployments[0].params == {}
    logged = caplog.text
    assert (
        "max_parallel_requests" in logged
        and "litellm_settings" in logged
        and "database_url" in logged
    )
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


# -- shared state in Redis (router_settings.redis_url, RERANKIT_REDIS_URL) -----------------

BM25_ONLY = "model_list: [{model_name: m, params: {model: local/bm25}}]\n"


def test_no_redis_setting_means_state_per_process(tmp_path):
    assert load(tmp_path, BM25_ONLY, environ={}).redis is None


def test_redis_url_in_router_settings(tmp_path):
    config = load(
        tmp_path,
        BM25_ONLY + "router_settings: {redis_url: 'redis://team:s3cret-pw@cache.internal:6380/2'}",
    )
    redis = config.redis
    assert redis is not None
    assert (redis.host, redis.port, redis.db, redis.username, redis.password, redis.ssl) == (
        "cache.internal",
        6380,
        2,
        "team",
        "s3cret-pw",
        False,
    )
    assert "s3cret-pw" not in repr(config) and "s3cret-pw" not in redis.description


def test_redis_timeout_defaults_above_event_loop_lag_and_can_be_set(tmp_path):
    # 0.1 s made a healthy Redis count as down under full load (the wait includes the
    # event loop's lag): the default leaves room for it, and the file may set its own.
    url = BM25_ONLY + "router_settings: {redis_url: 'redis://x'%s}"
    default = load(tmp_path, url % "", environ={}).redis
    assert default is not None and default.timeout == 0.5
    given = load(tmp_path, url % ", redis_timeout: 0.25", environ={}).redis
    assert given is not None and given.timeout == 0.25
    host = load(tmp_path, BM25_ONLY + "router_settings: {redis_host: h, redis_timeout: 2}").redis
    assert host is not None and (host.host, host.timeout) == ("h", 2.0)


def test_gateway_redis_host_port_password_from_the_environment(tmp_path):
    config = load(
        tmp_path,
        BM25_ONLY
        + "router_settings: {redis_host: os.environ/REDIS_HOST, redis_port: os.environ/REDIS_PORT,"
        + " redis_password: os.environ/REDIS_PASSWORD}",
        environ={"REDIS_HOST": "10.0.0.7", "REDIS_PORT": "7000", "REDIS_PASSWORD": "pw-123"},
    )
    assert config.redis is not None
    assert (config.redis.host, config.redis.port, config.redis.password) == (
        "10.0.0.7",
        7000,
        "pw-123",
    )


def test_rerankit_redis_url_from_the_environment(tmp_path, monkeypatch):
    from rerankit_proxy.server import load as serve_load

    path = write(tmp_path, BM25_ONLY)
    monkeypatch.setenv("RERANKIT_REDIS_URL", "rediss://r.example:6390")
    redis = serve_load(str(path)).redis
    assert redis is not None
    assert (redis.host, redis.port, redis.ssl) == ("r.example", 6390, True)
    # the default configuration (no file) too
    monkeypatch.setenv("RERANKIT_REDIS_URL", "redis://127.0.0.1:6399/1")
    redis = serve_load(None).redis
    assert redis is not None and (redis.port, redis.db) == (6399, 1)
    # the file wins over the environment
    path.write_text(BM25_ONLY + "router_settings: {redis_host: from-file}\n")
    redis = serve_load(str(path)).redis
    assert redis is not None and redis.host == "from-file"


def test_a_bad_rerankit_redis_url_is_named_at_start_up(tmp_path, monkeypatch):
    from rerankit_proxy.server import load as serve_load

    monkeypatch.setenv("RERANKIT_REDIS_URL", "localhost:6379")
    with pytest.raises(ProxyConfigError) as caught:
        serve_load(str(write(tmp_path, BM25_ONLY)))
    assert "RERANKIT_REDIS_URL" in str(caught.value) and "redis://" in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "needles"),
    [
        ("{redis_url: 'http://user:pw-secret@x'}", ["redis_url", "redis://", "rediss://"]),
        ("{redis_url: 'redis://:pw-secret@x/abc'}", ["redis_url", "database"]),
        ("{redis_url: 'redis://:pw-secret@x:99999'}", ["redis_url", "not a valid"]),
        ("{redis_url: 'redis://x', redis_host: y}", ["redis_url", "redis_host"]),
        ("{redis_port: 6379}", ["redis_port", "without redis_host"]),
        ("{redis_host: x, redis_port: 0}", ["redis_port", ">= 1"]),
        ("{redis_host: os.environ/NOT_SET_ANYWHERE}", ["redis_host", "NOT_SET_ANYWHERE"]),
        ("{redis_timeout: 0.5}", ["redis_timeout", "without redis_host"]),
        ("{redis_url: 'redis://:pw-secret@x', redis_timeout: 0}", ["redis_timeout", ">= 0.001"]),
        ("{redis_url: 'redis://:pw-secret@x', redis_timeout: 60}", ["redis_timeout", "at most"]),
        ("{redis_url: 'redis://:pw-secret@x', redis_timeout: .nan}", ["redis_timeout"]),
        ("{redis_host: x, redis_timeout: fast}", ["redis_timeout"]),
    ],
)
def test_bad_redis_settings_are_refused_without_repeating_the_password(tmp_path, settings, needles):
    message = error(tmp_path, BM25_ONLY + f"router_settings: {settings}")
    for needle in needles:
        assert needle in message
    assert "pw-secret" not in message


def test_redis_configured_without_redis_py_is_refused_at_start_up(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # as if not installed
    message = error(tmp_path, BM25_ONLY + "router_settings: {redis_url: 'redis://x:1'}")
    assert "rerankit-proxy[redis]" in message and "router_settings.redis_url" in message
    from rerankit_proxy.server import load as serve_load

    monkeypatch.setenv("RERANKIT_REDIS_URL", "redis://x:1")
    with pytest.raises(ProxyConfigError) as caught:
        serve_load(str(write(tmp_path, BM25_ONLY)))
    assert "RERANKIT_REDIS_URL" in str(caught.value)
    assert "rerankit-proxy[redis]" in str(caught.value)


@pytest.mark.parametrize("limit", ["rpm", "tpm"])
def test_per_deployment_rpm_and_tpm_are_refused_not_ignored(tmp_path, limit):
    message = error(
        tmp_path,
        f"model_list: [{{model_name: m, litellm_params: {{model: local/bm25, {limit}: 10}}}}]",
    )
    assert f"model_list[0].litellm_params.{limit}" in message
    assert "not enforced" in message and "Remove" in message
