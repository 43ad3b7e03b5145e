"""The API key reaches no backend: every stored byte is inspected, on every backend."""

from __future__ import annotations

import redis

import rerankit
from rerankit_cache import MemoryBackend, ResponseCache
from tests.fakes.nim_server import FakeNimServer

DOCS = ["H100 memory bandwidth", "cats", "gpu memory"]


def call_twice(cache: ResponseCache, nim_model: str, nim_key: str) -> None:
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(nim_model, "gpu memory", DOCS, api_key=nim_key)
        assert client.rerank(nim_model, "gpu memory", DOCS, api_key=nim_key).meta.cached
    assert cache.stores == 1


def test_memory(nim, nim_model, nim_key):
    backend = MemoryBackend()
    call_twice(ResponseCache(backend), nim_model, nim_key)
    stored = b"".join(k.encode() + v for k, (v, _) in backend._entries.items())
    assert stored and nim_key.encode() not in stored


def test_sqlite(nim, nim_model, nim_key, tmp_path):
    cache = ResponseCache(f"sqlite://{tmp_path}/cache.db")
    call_twice(cache, nim_model, nim_key)
    cache.close()
    files = list(tmp_path.iterdir())
    stored = b"".join(f.read_bytes() for f in files)
    assert b"rerankit:cache:v1:" in stored  # the entry is in there, readable
    assert nim_key.encode() not in stored


def test_redis(nim, nim_model, nim_key, redis_server, redis_url):
    cache = ResponseCache(redis_url)
    call_twice(cache, nim_model, nim_key)
    cache.close()
    inspect = redis.Redis(port=redis_server.port)
    keys = inspect.keys("*")
    assert len(keys) == 1
    stored = b"".join(k + inspect.get(k) for k in keys)
    assert nim_key.encode() not in stored
    inspect.close()


def test_a_key_in_the_base_url_is_not_stored_either(nim_model):
    # A base URL may carry credentials (user:password@host); the key hashes only what
    # the call context shows, which has none.
    backend = MemoryBackend()
    cache = ResponseCache(backend)
    with FakeNimServer() as open_nim, rerankit.Client(plugins=[cache]) as client:
        base = open_nim.url.replace("http://", "http://user:base-url-secret@")
        client.rerank(nim_model, "q", DOCS, api_base=base)
    stored = b"".join(k.encode() + v for k, (v, _) in backend._entries.items())
    assert cache.stores == 1 and b"base-url-secret" not in stored
