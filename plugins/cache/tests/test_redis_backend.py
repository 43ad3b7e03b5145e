"""The Redis backend against a real redis-server: TTLs, short timeouts, a server going away."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from rerankit_cache import CacheBackend, RedisBackend


def backend_for(url_port: int, **kwargs) -> RedisBackend:
    return RedisBackend("127.0.0.1", url_port, **kwargs)


def test_is_a_cache_backend(redis_server, redis_url):
    backend = backend_for(redis_server.port)
    assert isinstance(backend, CacheBackend)
    backend.close()


def test_get_returns_what_was_set(redis_server, redis_url):
    backend = backend_for(redis_server.port)
    backend.set("k", b"\x00bytes\xff", None)
    assert backend.get("k") == b"\x00bytes\xff"
    assert backend.get("absent") is None
    backend.close()


def test_ttl_is_redis_own_expiry(redis_server, redis_url):
    backend = backend_for(redis_server.port)
    backend.set("short", b"1", 30)
    backend.set("forever", b"2", None)
    inspect = redis.Redis(port=redis_server.port)
    assert 0 < inspect.pttl("short") <= 30_000
    assert inspect.pttl("forever") == -1  # no expiry set
    backend.set("tiny", b"3", 0.001)  # rounds up to 1 ms, never to "no expiry"
    deadline = time.monotonic() + 2
    while inspect.exists("tiny") and time.monotonic() < deadline:
        time.sleep(0.005)
    assert backend.get("tiny") is None
    inspect.close()
    backend.close()


def test_database_number_is_used(redis_server, redis_url):
    backend = backend_for(redis_server.port, db=3)
    backend.set("k", b"v", None)
    db3, db0 = redis.Redis(port=redis_server.port, db=3), redis.Redis(port=redis_server.port)
    assert db3.get("k") == b"v"
    assert db0.get("k") is None
    db3.close()
    db0.close()
    backend.close()


def test_a_silent_server_fails_within_the_timeout_without_retrying():
    # A listening socket that never answers: the read must time out, fast, once.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            silent.settimeout(0.1)
            while not stop.is_set():
                try:
                    accepted.append(silent.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        backend = RedisBackend("127.0.0.1", silent.getsockname()[1], timeout=0.05)
        with pytest.raises(redis.exceptions.TimeoutError):
            backend.get("k")
        stop.set()
        thread.join()
        # redis-py retries 3 times by default; here one connection, one try.
        assert len(accepted) == 1
        for conn in accepted:
            conn.close()
        backend.close()


def test_password_never_shows_in_description_or_repr():
    backend = RedisBackend("127.0.0.1", 1, password="s3cret-redis-pw")
    assert "s3cret" not in backend.description
    assert "s3cret" not in repr(backend)
    assert backend.secrets() == ("s3cret-redis-pw",)
    backend.close()
