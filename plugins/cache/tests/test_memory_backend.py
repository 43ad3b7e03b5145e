"""The in-process LRU: expiry on an injected clock, limits by entries and bytes, threads."""

from __future__ import annotations

import threading

from rerankit_cache import CacheBackend, MemoryBackend
from rerankit_cache.backends.memory import DEFAULT_MAX_ENTRIES


def test_is_a_cache_backend():
    assert isinstance(MemoryBackend(), CacheBackend)


def test_get_returns_what_was_set_and_none_for_absent():
    backend = MemoryBackend()
    backend.set("k", b"value", None)
    assert backend.get("k") == b"value"
    assert backend.get("other") is None


def test_entries_expire_after_their_ttl(clock):
    backend = MemoryBackend(clock=clock)
    backend.set("short", b"1", 10)
    backend.set("forever", b"2", None)
    clock.advance(9.9)
    assert backend.get("short") == b"1"
    clock.advance(0.1)
    assert backend.get("short") is None
    assert len(backend) == 1  # the expired entry is dropped when met
    clock.advance(1e6)
    assert backend.get("forever") == b"2"


def test_least_recently_used_goes_first_beyond_max_entries():
    backend = MemoryBackend(max_entries=2)
    backend.set("a", b"1", None)
    backend.set("b", b"2", None)
    assert backend.get("a") == b"1"  # a is now more recent than b
    backend.set("c", b"3", None)
    assert backend.get("b") is None
    assert backend.get("a") == b"1"
    assert backend.get("c") == b"3"


def test_max_bytes_bounds_keys_and_values_together():
    backend = MemoryBackend(max_bytes=20)
    backend.set("a", b"x" * 9, None)  # 10 bytes
    backend.set("b", b"y" * 9, None)  # 20 bytes: still fits
    assert backend.size_bytes == 20
    backend.set("c", b"z" * 9, None)  # 30: "a" must go
    assert backend.get("a") is None
    assert backend.size_bytes == 20
    backend.set("huge", b"h" * 100, None)  # could never fit: not stored, nothing evicted
    assert backend.get("huge") is None
    assert backend.get("b") is not None and backend.get("c") is not None


def test_replacing_an_entry_counts_its_bytes_once():
    backend = MemoryBackend(max_bytes=100)
    for _ in range(10):
        backend.set("k", b"v" * 10, None)
    assert backend.size_bytes == 11
    assert len(backend) == 1


def test_default_limit_is_max_entries():
    backend = MemoryBackend()
    assert backend.max_entries == DEFAULT_MAX_ENTRIES
    for n in range(DEFAULT_MAX_ENTRIES + 5):
        backend.set(str(n), b"v", None)
    assert len(backend) == DEFAULT_MAX_ENTRIES


def test_threads_sharing_it_keep_the_limits():
    backend = MemoryBackend(max_entries=50, max_bytes=5000)

    def work(worker: int) -> None:
        for n in range(300):
            backend.set(f"{worker}-{n % 80}", b"v" * (n % 40), None)
            backend.get(f"{(worker + 1) % 4}-{n % 80}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend) <= 50
    assert backend.size_bytes <= 5000
    assert backend.size_bytes == sum(len(k) + len(v) for k, (v, _) in backend._entries.items())


def test_close_forgets_everything():
    backend = MemoryBackend()
    backend.set("k", b"v", None)
    backend.close()
    assert backend.get("k") is None
    assert backend.size_bytes == 0
