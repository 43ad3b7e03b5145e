"""Two `rerankit serve` processes sharing one real redis-server behave as one gateway.

Each test starts its own redis-server (one test kills it) and two proxies on different
ports with the same config; nothing here is mocked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.nim_server import FakeNimServer
from tests.fakes.redis_server import RedisServer, start_redis

from .conftest import DOCS, MASTER, QUERY, SELF_HOSTED_MODEL, ProxyProcess

RPM_KEY = "sk-shared-rpm-key-0001"
ENV = {"RERANKIT_LOAD_PLUGINS": "local,nvidia_nim,proxy"}
WARNING = "rate limits and ejections are per process"
RECOVERED = "state is shared again"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


def config(
    redis_url: str, *, rpm: int, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """bm25 (no upstream) plus `extra` deployments, a key with `rpm`, the shared Redis."""
    return {
        "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}, *(extra or [])],
        "general_settings": {"master_key": MASTER},
        "keys": [{"name": "shared", "key": RPM_KEY, "models": ["*"], "rpm": rpm}],
        "router_settings": {
            "redis_url": redis_url,
            "num_retries": 2,
            "allowed_fails": 1,
            "cooldown_time": 600,
        },
    }


def two_proxies(tmp_path: Path, cfg: dict[str, Any]) -> list[ProxyProcess]:
    proxies = [ProxyProcess(tmp_path / name, cfg, env=ENV) for name in ("a", "b")]
    try:
        return [p.wait_ready() for p in proxies]
    except Exception:
        for p in proxies:
            p.stop()
        raise


def rerank(proxy: ProxyProcess, model: str = "bm25", key: str = RPM_KEY) -> httpx.Response:
    return httpx.post(
        f"{proxy.url}/v1/rerank",
        json={"model": model, "query": QUERY, "documents": DOCS},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )


def redis_errors(proxy: ProxyProcess) -> float:
    body = httpx.get(
        f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {MASTER}"}, timeout=5
    ).text
    found = re.findall(r"^rerankit_proxy_redis_errors_total\{[^}]*\} (\S+)$", body, re.M)
    return sum(float(v) for v in found)


def test_a_keys_rpm_holds_across_both_processes(tmp_path, redis):
    proxies = two_proxies(tmp_path, config(redis.url, rpm=6))
    try:
        answers = [rerank(proxies[i % 2]) for i in range(12)]
        for p in proxies:
            assert f"shared through Redis at redis://127.0.0.1:{redis.port}/0" in p.log()
    finally:
        for p in proxies:
            p.stop()
    statuses = [a.status_code for a in answers]
    # Each process alone would allow 6: only the shared window gives 6 in all.
    assert statuses.count(200) == 6, statuses
    assert statuses.count(429) == 6, statuses
    assert statuses[:6] == [200] * 6
    for refused in answers[6:]:  # the wait is what is left of the 60 s window
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["error"]["code"] == "key_rate_limited"


def test_a_deployment_ejected_by_one_process_is_avoided_by_the_other(tmp_path, redis):
    with FakeNimServer() as good, FakeNimServer(failure_rate=1.0, failure_statuses=(503,)) as bad:
        pair = [
            {
                "model_name": "pair",
                "id": "pair-good",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": good.url},
            },
            {
                "model_name": "pair",
                "id": "pair-bad",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": bad.url},
            },
        ]
        a, b = two_proxies(tmp_path, config(redis.url, rpm=1000, extra=pair))
        try:
            for _ in range(2):  # round-robin: one of these reaches the bad one
                assert rerank(a, "pair").status_code == 200
            assert bad.post_count == 1
            assert "deployment pair-bad of pair ejected" in a.log()
            deadline = time.monotonic() + 5  # the ejection is published in the background
            while (
                time.monotonic() < deadline
                and _get(redis, "rerankit:proxy:ejected:pair-bad") != b"1"
            ):
                time.sleep(0.02)
            assert _get(redis, "rerankit:proxy:ejected:pair-bad") == b"1"
            for _ in range(6):  # alone, b would send every other call to the bad one
                assert rerank(b, "pair").status_code == 200
            assert bad.post_count == 1
            # b learnt it from Redis; it did not find out itself
            assert "pair-bad of pair ejected" not in b.log()
        finally:
            a.stop()
            b.stop()


def _get(redis: RedisServer, key: str) -> bytes | None:
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    try:
        value = client.get(key)
        return None if value is None else bytes(value)
    finally:
        client.close()


def test_killing_redis_mid_run_loses_no_request_and_it_reconnects(tmp_path, redis):
    a, b = two_proxies(tmp_path, config(redis.url, rpm=1000))
    try:
        assert all(rerank(p).status_code == 200 for p in (a, b, a, b))
        port, directory = redis.port, redis.directory
        redis.stop()
        statuses = [rerank(p).status_code for p in (a, b) * 10]
        assert statuses == [200] * 20  # fail open: never a 500 because Redis is gone
        for p in (a, b):
            assert p.log().count(WARNING) == 1  # one line per outage, not per request
            assert redis_errors(p) >= 1
        # Redis comes back on the same address: both processes use it again by themselves.
        back = start_redis(directory, port)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(RECOVERED in p.log() for p in (a, b)):
                assert rerank(a).status_code == 200 and rerank(b).status_code == 200
                time.sleep(0.05)
            assert all(RECOVERED in p.log() for p in (a, b))
            assert _count(back) > 0  # requests are counted in Redis again
        finally:
            back.stop()
    finally:
        a.stop()
        b.stop()


def _count(redis: RedisServer) -> int:
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    try:
        keys = client.keys("rerankit:proxy:rpm:*")
        return sum(int(client.get(k) or 0) for k in keys)
    finally:
        client.close()


def test_a_paused_redis_times_out_and_calls_go_on(tmp_path, redis):
    a = ProxyProcess(tmp_path / "a", config(redis.url, rpm=1000), env=ENV).wait_ready()
    try:
        assert rerank(a).status_code == 200
        redis.pause()  # accepts nothing, answers nothing: only timeouts tell
        try:
            assert [rerank(a).status_code for _ in range(5)] == [200] * 5
            assert a.log().count(WARNING) == 1
            assert "TimeoutError" in a.log()
        finally:
            redis.resume()
    finally:
        a.stop()
