"""A redis-server killed mid-run: calls go on upstream, the cache counts and retries."""

from __future__ import annotations

import rerankit
from rerankit_cache import ResponseCache

from .conftest import start_redis, stop_redis

QUERY = "gpu memory"
DOCS = ["H100 memory", "cats", "gpu"]


def test_killing_redis_mid_run_never_fails_a_call(nim, nim_model, tmp_path, clock):
    server = start_redis(tmp_path)
    try:
        cache = ResponseCache(server.url, retry_after=2, clock=clock)
        with rerankit.Client(plugins=[cache]) as client:
            client.rerank(nim_model, QUERY, DOCS)
            assert client.rerank(nim_model, QUERY, DOCS).meta.cached is True
            stop_redis(server)
            down = client.rerank(nim_model, QUERY, DOCS)  # Redis is gone
            assert down.meta.cached is None and len(down.results) == 3
            assert cache.errors == 1
            client.rerank(nim_model, QUERY, DOCS)  # within retry_after: not tried
            assert cache.errors == 1
            clock.advance(2)
            client.rerank(nim_model, QUERY, DOCS)  # tried again, still down
            assert cache.errors == 2
        assert nim.post_count == 4
        assert cache.hits == 1 and cache.stores == 1
        cache.close()
    finally:
        stop_redis(server)


async def test_async_calls_go_on_when_redis_is_gone(nim, nim_model, tmp_path):
    server = start_redis(tmp_path)
    cache = ResponseCache(server.url, retry_after=0)
    stop_redis(server)
    async with rerankit.AsyncClient(plugins=[cache]) as client:
        for _ in range(3):
            answer = await client.rerank(nim_model, QUERY, DOCS)
            assert answer.meta.cached is None
    # retry_after=0: each call tried to read and to write, failed fast, and went upstream
    assert cache.errors == 6
    assert nim.post_count == 3
    cache.close()
