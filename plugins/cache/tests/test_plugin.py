"""ResponseCache through the real clients, sync and async, on every backend.

The upstream is the repository's fake NIM on 127.0.0.1; `nim.post_count` says whether a
call went upstream.
"""

from __future__ import annotations

import logging

import pytest

import rerankit
from rerankit import LocalProvider, ProviderRegistry, Ranking
from rerankit.errors import ServerError
from rerankit_cache import MemoryBackend, ResponseCache

QUERY = "gpu memory bandwidth"
DOCS = ["H100 memory bandwidth is 3TB/s", "cats sleep a lot", "gpu memory of the A100", "x"]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def cache_url(request, tmp_path):
    """A cache URL for each backend (Redis: the session's real redis-server)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/cache.db"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def cache(cache_url):
    built = ResponseCache(cache_url)
    yield built
    built.close()


def test_the_full_ranking_serves_every_top_n_and_return_documents(nim, nim_model, cache):
    with rerankit.Client(plugins=[cache]) as client:
        full = client.rerank(nim_model, QUERY, DOCS)
        assert nim.post_count == 1
        assert full.meta.cached is None
        top = client.rerank(nim_model, QUERY, DOCS, top_n=2)
        bare = client.rerank(nim_model, QUERY, DOCS, return_documents=False)
    assert nim.post_count == 1  # both answered from the cache
    assert top.meta.cached is True and bare.meta.cached is True
    assert [(r.index, r.relevance_score) for r in top.results] == [
        (r.index, r.relevance_score) for r in full.results[:2]
    ]
    assert [r.document.text for r in top.results] == [DOCS[r.index] for r in top.results]
    assert all(r.document is None for r in bare.results)
    assert [r.index for r in bare.results] == [r.index for r in full.results]
    assert cache.stats() == {
        "hits": 2,
        "misses": 1,
        "stores": 1,
        "errors": 0,
        "corrupt": 0,
        "skipped": 0,
    }


def test_a_cached_answer_has_a_new_id_and_no_usage(nim, nim_model, cache):
    with rerankit.Client(plugins=[cache]) as client:
        first = client.rerank(nim_model, QUERY, DOCS)
        second = client.rerank(nim_model, QUERY, DOCS)
    assert second.meta.cached is True
    assert second.id != first.id
    assert second.meta.usage is None
    assert second.meta.attempts == 0
    assert second.model == first.model and second.meta.score_kind == first.meta.score_kind


@pytest.mark.parametrize(
    "change",
    [
        {"query": "gpu memory"},
        {"documents": [*DOCS[:-1], "y"]},
        {"documents": list(reversed(DOCS))},
        {"truncate": "NONE"},
        {"model": "nvidia_nim/nvidia/nv-rerankqa-mistral-4b-v3"},
        {"api_base": "base on localhost"},
    ],
)
def test_any_change_to_the_question_goes_upstream(nim, nim_model, cache, change):
    call = {"model": nim_model, "query": QUERY, "documents": DOCS, "truncate": "END"}
    changed = {**call, **change}
    if changed.get("api_base"):
        changed["api_base"] = nim.url.replace("127.0.0.1", "localhost")
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(**call)
        again = client.rerank(**changed)
        assert again.meta.cached is None
        assert nim.post_count == 2
        client.rerank(**changed)  # and the changed call is now cached itself
    assert nim.post_count == 2
    assert cache.hits == 1 and cache.stores == 2


async def test_async_client_hits_what_the_sync_client_stored(nim, nim_model, cache):
    with rerankit.Client(plugins=[cache]) as client:
        stored = client.rerank(nim_model, QUERY, DOCS)
    async with rerankit.AsyncClient(plugins=[cache]) as client:
        hit = await client.rerank(nim_model, QUERY, DOCS, top_n=1)
        other = await client.rerank(nim_model, "another query", DOCS)
        other_hit = await client.rerank(nim_model, "another query", DOCS)
    assert hit.meta.cached is True
    assert hit.results[0].index == stored.results[0].index
    assert other.meta.cached is None and other_hit.meta.cached is True
    assert nim.post_count == 2
    assert cache.stores == 2


def test_failed_calls_are_not_stored(nim, nim_model):
    cache = ResponseCache("memory://")
    nim.enqueue_faults(["status:500"])
    with rerankit.Client(plugins=[cache], max_retries=0) as client:
        with pytest.raises(ServerError):
            client.rerank(nim_model, QUERY, DOCS)
        assert cache.stores == 0
        answer = client.rerank(nim_model, QUERY, DOCS)
    assert answer.meta.cached is None
    assert cache.stores == 1


def test_a_fallback_models_answer_is_not_stored_under_the_primarys_key(nim, nim_model):
    cache = ResponseCache("memory://")
    nim.enqueue_faults(["status:500"])
    with rerankit.Client(plugins=[cache], max_retries=0, fallbacks=["local/bm25"]) as client:
        with pytest.warns(rerankit.RerankitWarning, match="bm25 scores"):
            fallen_back = client.rerank(nim_model, QUERY, DOCS)
        assert fallen_back.model == "local/bm25"
        assert cache.stores == 0
        primary = client.rerank(nim_model, QUERY, DOCS)
    assert primary.model == nim_model and primary.meta.cached is None
    assert nim.post_count == 2
    assert cache.stores == 1


class BestOnly(LocalProvider):
    """Returns only its best `top_n` results, as an upstream given top_n does."""

    name = "best-only"
    score_kind = "probability"

    def rerank(self, request):
        scores = [(i, 1.0 / (i + 1)) for i in range(len(request.documents))]
        if request.top_n is not None:
            return Ranking(scores=scores[: request.top_n], partial=True)
        return Ranking(scores=scores)


def test_partial_rankings_are_not_stored():
    registry = ProviderRegistry()
    registry.register("best", BestOnly())
    cache = ResponseCache("memory://")
    with rerankit.Client(registry=registry, plugins=[cache]) as client:
        client.rerank("best/m", QUERY, DOCS, top_n=2)
        assert cache.stores == 0 and cache.misses == 1
        client.rerank("best/m", QUERY, DOCS)  # the full ranking is stored...
        assert cache.stores == 1
        top = client.rerank("best/m", QUERY, DOCS, top_n=2)  # ...and serves top_n
    assert top.meta.cached is True
    assert [r.index for r in top.results] == [0, 1]


def test_ttl_expires_entries_on_the_backends_clock(nim, nim_model, clock):
    cache = ResponseCache(MemoryBackend(clock=clock), ttl=60)
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(nim_model, QUERY, DOCS)
        clock.advance(59)
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is True
        clock.advance(1)
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is None
    assert nim.post_count == 2


def test_normalized_scores_are_the_same_from_the_cache(nim, nim_model):
    cache = ResponseCache("memory://")
    with rerankit.Client(plugins=[cache], normalize="sigmoid") as client:
        first = client.rerank(nim_model, QUERY, DOCS)
        second = client.rerank(nim_model, QUERY, DOCS)
    assert second.meta.cached is True
    assert [r.relevance_score for r in second.results] == [r.relevance_score for r in first.results]
    assert second.meta.score_kind == first.meta.score_kind != "logit"


def test_answers_larger_than_max_entry_bytes_are_skipped(nim, nim_model):
    cache = ResponseCache("memory://", max_entry_bytes=40)
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(nim_model, QUERY, DOCS)
        client.rerank(nim_model, QUERY, DOCS)
    assert nim.post_count == 2
    assert cache.skipped == 2 and cache.stores == 0


class DictBackend:
    """A backend tests can reach into."""

    description = "dict"

    def __init__(self):
        self.data: dict[str, bytes] = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, ttl):
        self.data[key] = value

    def close(self):
        self.data.clear()


def test_a_corrupt_entry_is_a_miss_logged_once_and_replaced(nim, nim_model, caplog):
    backend = DictBackend()
    cache = ResponseCache(backend)
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(nim_model, QUERY, DOCS)
        (key,) = backend.data
        for damage in (b"garbage", b'{"v":1,"kind":"logit","scores":[]}'):
            backend.data[key] = damage
            with caplog.at_level(logging.DEBUG, logger="rerankit_cache"):
                answer = client.rerank(nim_model, QUERY, DOCS)
            assert answer.meta.cached is None
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is True  # stored again
    assert nim.post_count == 3
    assert cache.corrupt == 2 and cache.misses == 3 and cache.hits == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "stored entry is invalid" in warnings[0].getMessage()


class BrokenBackend:
    """Fails every read and write, as a store that is down does."""

    description = "broken"

    def __init__(self):
        self.calls = 0

    def get(self, key):
        self.calls += 1
        raise ConnectionError("store is down at 10.0.0.1 pw=hunter2")

    def set(self, key, value, ttl):
        self.calls += 1
        raise OSError("disk full")

    def close(self):
        pass

    def secrets(self):
        return ("hunter2",)


def test_a_failing_backend_never_fails_a_call(nim, nim_model, clock, caplog):
    backend = BrokenBackend()
    cache = ResponseCache(backend, retry_after=5, clock=clock)
    with (
        caplog.at_level(logging.DEBUG, logger="rerankit_cache"),
        rerankit.Client(plugins=[cache]) as client,
    ):
        assert len(client.rerank(nim_model, QUERY, DOCS).results) == len(DOCS)
        assert backend.calls == 1  # the read failed: the write is not even tried
        client.rerank(nim_model, QUERY, DOCS)  # within retry_after: the backend is left alone
        assert backend.calls == 1
        clock.advance(5)
        client.rerank(nim_model, QUERY, DOCS)
        clock.advance(5)
        client.rerank(nim_model, QUERY, DOCS)
    assert backend.calls == 3
    assert nim.post_count == 4
    assert cache.errors == 3 and cache.misses == 4 and cache.hits == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one kind of error (read: ConnectionError): logged once
    assert "could not read the broken backend" in warnings[0]
    assert "hunter2" not in caplog.text


def test_a_write_failure_is_its_own_kind_of_error(nim, nim_model, caplog):
    class WriteFails(DictBackend):
        def set(self, key, value, ttl):
            raise OSError("disk full")

    cache = ResponseCache(WriteFails(), retry_after=0)
    with (
        caplog.at_level(logging.WARNING, logger="rerankit_cache"),
        rerankit.Client(plugins=[cache]) as client,
    ):
        for _ in range(3):
            client.rerank(nim_model, QUERY, DOCS)
    assert cache.errors == 3 and cache.stores == 0
    assert [r.getMessage().count("could not write") for r in caplog.records] == [1]


def test_a_broken_hook_of_another_plugin_does_not_stop_the_cache(nim, nim_model):
    class Exploding:
        @rerankit.hookimpl
        def rerank_call_finished(self, call):
            raise RuntimeError("boom")

    cache = ResponseCache("memory://")
    with rerankit.Client(plugins=[Exploding(), cache]) as client:
        client.rerank(nim_model, QUERY, DOCS)
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is True


def test_a_locked_sqlite_file_costs_its_timeout_not_the_call(nim, nim_model, tmp_path):
    import sqlite3

    path = tmp_path / "cache.db"
    cache = ResponseCache(f"sqlite://{path}?timeout=0.05", retry_after=0)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with rerankit.Client(plugins=[cache]) as client:
            answer = client.rerank(nim_model, QUERY, DOCS)
        assert len(answer.results) == len(DOCS)
        assert cache.errors >= 1 and cache.stores == 0
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    with rerankit.Client(plugins=[cache]) as client:  # the lock is gone: stored again
        client.rerank(nim_model, QUERY, DOCS)
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is True
    cache.close()


def test_a_stored_value_larger_than_max_entry_bytes_is_not_decoded(nim, nim_model):
    backend = DictBackend()
    cache = ResponseCache(backend, max_entry_bytes=1000)
    with rerankit.Client(plugins=[cache]) as client:
        client.rerank(nim_model, QUERY, DOCS)
        (key,) = backend.data
        # A valid entry padded past the limit (someone else wrote to the store).
        backend.data[key] = backend.data[key][:-1] + b" " * 2000 + b"}"
        assert client.rerank(nim_model, QUERY, DOCS).meta.cached is None
    assert cache.corrupt == 1
