"""A key's `tpm`: tokens the providers report, counted per key, locally and through Redis.

The end-to-end tests run real `rerankit serve` processes in front of a fake NIM that
reports 10 tokens per answer (`FakeNimServer(usage_tokens=10)`); the shared one adds a
real redis-server and a second process.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rerankit_proxy import ProxyConfigError, load_config
from rerankit_proxy.asgi import ApiError
from rerankit_proxy.auth import Caller
from rerankit_proxy.config import RedisSettings
from rerankit_proxy.metrics import Metrics
from rerankit_proxy.shared import SharedState
from rerankit_proxy.tokens import MAX_TPM, KeyTokens, LocalTokenWindows, reported_tokens
from tests.fakes.nim_server import FakeNimServer
from tests.fakes.redis_server import RedisServer, free_port, start_redis

from .conftest import DOCS, MASTER, QUERY, SELF_HOSTED_MODEL, ProxyProcess

TPM_KEY = "sk-tokens-per-minute-01"
ENV = {"RERANKIT_LOAD_PLUGINS": "local,nvidia_nim,proxy"}


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        ({"total_tokens": 38}, 38),  # Jina, Voyage, vLLM
        ({"prompt_tokens": 10, "total_tokens": 10}, 10),  # NIM, Together, Mixedbread
        ({"prompt_tokens": 7}, 7),  # a NIM build without total_tokens
        ({"tokens": 12}, 12),  # rerankit-onnx
        ({"total_tokens": 5.0}, 5),
        ({"billed_units": {"input_tokens": 3, "output_tokens": 2}}, 5),  # Cohere's meta shape
        ({"tokens": {"input_tokens": 4}}, 4),
        ({"billed_units": {"search_units": 1}}, None),  # Cohere rerank: units, not tokens
        ({"rerank_units": 1}, None),  # Pinecone
        ({"total_tokens": -3}, None),
        ({"total_tokens": True}, None),
        ({"total_tokens": "12"}, None),
        ({"total_tokens": float("nan")}, None),
        ({"total_tokens": 10**30}, MAX_TPM),  # an upstream's number is bounded
        ({}, None),
        (None, None),
    ],
)
def test_reported_tokens_by_provider_shape(usage, tokens):
    assert reported_tokens(usage) == tokens


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_local_window_refuses_once_used_reaches_tpm_until_it_ends():
    clock = Clock()
    windows = LocalTokenWindows(clock=clock)
    key, other = b"k" * 32, b"o" * 32
    assert windows.wait(key, 25) is None  # nothing counted yet
    windows.add(key, 10)
    windows.add(key, 10)
    assert windows.wait(key, 25) is None  # 20 < 25: the next request may go
    windows.add(key, 10)  # and take it past tpm
    clock.now += 15
    assert windows.wait(key, 25) == pytest.approx(45.0)  # the window's rest
    assert windows.wait(other, 25) is None  # per key
    clock.now += 45  # the window ends: a new one
    assert windows.wait(key, 25) is None
    windows.add(key, 24)
    assert windows.wait(key, 25) is None


def test_local_window_with_workers_gives_each_its_share():
    windows = LocalTokenWindows(workers=2, clock=Clock())
    windows.add(b"k", 13)
    assert windows.wait(b"k", 25) is not None  # 13 >= ceil(25 / 2)


def load(tmp_path: Path, keys: str, model: str = "local/bm25") -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(f"""
        model_list:
          - {{model_name: m, params: {{model: {model}, api_base: http://127.0.0.1:9}}}}
        keys:
        """)
        + textwrap.indent(textwrap.dedent(keys), "  ")
    )
    return load_config(path)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("-5", ">= 1"),
        ("0", ">= 1"),
        ("true", ">= 1"),
        ("1.5", "whole number"),
        ("lots", "whole number"),
        ("10000000000000", "at most 1e+12"),
    ],
)
def test_bad_tpm_values_are_refused_at_start_up(tmp_path, value, needle):
    with pytest.raises(ProxyConfigError) as caught:
        load(tmp_path, f"- {{name: t, key: {TPM_KEY}, models: ['*'], tpm: {value}}}")
    assert "keys[0].tpm" in str(caught.value)
    assert needle in str(caught.value)


def test_tpm_is_read_and_a_tokenless_key_is_warned_about(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        config = load(tmp_path, f"- {{name: t, key: {TPM_KEY}, models: ['*'], tpm: 500}}")
    assert config.keys[0].tpm == 500
    assert "key 't' sets tpm, but every model it may call is served by local" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        config = load(
            tmp_path,
            f"- {{name: t, key: {TPM_KEY}, models: ['*'], tpm: 500}}",
            model=SELF_HOSTED_MODEL,
        )
    assert "sets tpm" not in caplog.text  # NIM reports tokens


def proxy_config(nim: FakeNimServer, tpm: int, redis_url: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "model_list": [
            {"model_name": "nim", "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url}},
            {"model_name": "bm25", "params": {"model": "local/bm25"}},
        ],
        "general_settings": {"master_key": MASTER},
        "keys": [{"name": "tokens", "key": TPM_KEY, "models": ["*"], "tpm": tpm}],
    }
    if redis_url is not None:
        config["router_settings"] = {"redis_url": redis_url}
    return config


def rerank(proxy: ProxyProcess, model: str = "nim") -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/v1/rerank",
        json={"model": model, "query": QUERY, "documents": DOCS},
        headers={"Authorization": f"Bearer {TPM_KEY}"},
        timeout=10,
    )


@pytest.fixture
def nim() -> Iterator[FakeNimServer]:
    with FakeNimServer(usage_tokens=10) as server:
        yield server


def test_a_key_over_its_tpm_gets_429_in_one_process(tmp_path, nim):
    proxy = ProxyProcess(tmp_path, proxy_config(nim, tpm=25), env=ENV).wait_ready()
    try:
        tokenless = [rerank(proxy, "bm25") for _ in range(3)]  # local: reports no usage
        answers = [rerank(proxy) for _ in range(5)]
        bm25 = rerank(proxy, "bm25")  # refused too: the key's window is full
    finally:
        proxy.stop()
    # Answers without reported tokens counted nothing: the NIM calls start from 0.
    assert [a.status_code for a in tokenless] == [200] * 3
    # 0, 10, 20 tokens used before each of the first three: let in; then 30 >= 25.
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert bm25.status_code == 429
    refused = answers[3]
    assert refused.json()["error"]["code"] == "key_token_limited"
    assert "25 tokens" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert nim.post_count == 3  # a refused request never reaches the upstream


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


def test_a_keys_tpm_holds_across_two_processes_sharing_redis(tmp_path, nim, redis):
    cfg = proxy_config(nim, tpm=35, redis_url=redis.url)
    proxies = [ProxyProcess(tmp_path / name, cfg, env=ENV) for name in ("a", "b")]
    try:
        for p in proxies:
            p.wait_ready()
        answers = [rerank(proxies[i % 2]) for i in range(8)]
        import redis as redis_py

        client = redis_py.Redis(port=redis.port)
        try:
            (key,) = client.keys("rerankit:proxy:tpm:*")
            counted, ttl = int(client.get(key) or 0), client.pttl(key)
        finally:
            client.close()
    finally:
        for p in proxies:
            p.stop()
    statuses = [a.status_code for a in answers]
    # Each process alone would let 4 in (0, 10, 20, 30 < 35): together, 4 in all.
    assert statuses == [200] * 4 + [429] * 4, statuses
    assert counted == 40
    assert 0 < ttl <= 60_000
    assert nim.post_count == 4


DIGEST = bytes(range(32))


async def test_the_shared_token_window_counts_and_says_how_long_to_wait(redis):
    state = SharedState(RedisSettings(host="127.0.0.1", port=redis.port), Metrics())
    try:
        assert await state.tokens_wait(DIGEST, 25) is None  # nothing counted yet
        assert await state.add_tokens(DIGEST, 20)
        assert await state.tokens_wait(DIGEST, 25) is None
        assert await state.add_tokens(DIGEST, 10)
        wait = await state.tokens_wait(DIGEST, 25)
        assert isinstance(wait, float) and 59 < wait <= 60
        assert await state.tokens_wait(DIGEST, 31) is None  # another key's larger tpm
    finally:
        await state.aclose()


async def test_tokens_fall_back_to_local_windows_while_redis_is_down():
    state = SharedState(RedisSettings(host="127.0.0.1", port=free_port()), Metrics())
    tokens = KeyTokens(state)
    caller = Caller("t", None, None, False, DIGEST, tpm=25)
    try:
        await tokens.check(caller)  # Redis unreachable: the local window lets it in
        await tokens.add(caller, 30)  # and counts its tokens
        with pytest.raises(ApiError) as refused:
            await tokens.check(caller)
        assert refused.value.status == 429
        assert 'rerankit_proxy_redis_errors_total{operation="tokens_used"} 1' in (
            state.metrics.render()
        )
    finally:
        await state.aclose()
