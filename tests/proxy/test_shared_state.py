"""`SharedState` against a real redis-server: the rate window, ejections, failing open."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis as redis_py

from rerankit_proxy.config import RedisSettings
from rerankit_proxy.metrics import Metrics
from rerankit_proxy.shared import PREFIX, SharedState
from tests.fakes.redis_server import RedisServer, free_port, start_redis

DIGEST = bytes(range(32))
RATE_KEY = f"{PREFIX}rpm:{DIGEST.hex()[:32]}"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    started = start_redis(tmp_path_factory.mktemp("redis"))
    yield started
    started.stop()


@pytest.fixture
def sync(server: RedisServer) -> Iterator[redis_py.Redis]:
    client = redis_py.Redis(port=server.port)
    client.flushall()
    yield client
    client.close()


def shared(port: int, clock: Clock | None = None, password: str | None = None) -> SharedState:
    settings = RedisSettings(host="127.0.0.1", port=port, password=password)
    return SharedState(settings, Metrics(), clock=clock or Clock())


async def test_the_window_allows_rpm_then_says_how_long_to_wait(server, sync):
    state = shared(server.port)
    try:
        assert [await state.acquire(DIGEST, 3) for _ in range(3)] == [None, None, None]
        wait = await state.acquire(DIGEST, 3)
        assert isinstance(wait, float) and 59 < wait <= 60
        assert int(sync.get(RATE_KEY) or 0) == 4
        assert 59_000 < sync.pttl(RATE_KEY) <= 60_000  # every counter expires
        sync.pexpire(RATE_KEY, 1)  # the window ends
        while sync.exists(RATE_KEY):
            pass
        assert await state.acquire(DIGEST, 3) is None  # a fresh window
    finally:
        await state.aclose()


async def test_a_counter_without_expiry_gets_one(server, sync):
    sync.set(RATE_KEY, 1)  # e.g. left by a crash between INCR and EXPIRE elsewhere
    state = shared(server.port)
    try:
        assert await state.acquire(DIGEST, 10) is None
        assert sync.pttl(RATE_KEY) > 0
    finally:
        await state.aclose()


async def test_ejections_round_trip_with_their_remaining_time(server, sync):
    state = shared(server.port)
    try:
        state.publish_ejection("pair-b", 30)
        await state.aclose()  # waits for the background write
        state = shared(server.port)
        left = await state.ejections(["pair-a", "pair-b"])
        assert left is not None and left[0] == 0 and 29 < left[1] <= 30
    finally:
        await state.aclose()


async def test_an_unreachable_redis_fails_open_once_per_outage(caplog):
    clock = Clock()
    state = shared(free_port(), clock, password="pw-never-logged")
    try:
        with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
            assert await state.acquire(DIGEST, 1) is False  # use the local limiter
            assert await state.ejections(["a"]) is None  # not asked: waiting out the outage
            clock.now += 1.0  # retry_after passed: asked again, fails again
            assert await state.acquire(DIGEST, 1) is False
            assert await state.check() is False  # within retry_after again: not asked
        lines = [r.getMessage() for r in caplog.records if "Redis at" in r.getMessage()]
        assert len(lines) == 1 and "ConnectionError" in lines[0]
        assert "pw-never-logged" not in caplog.text and "pw-never-logged" not in repr(state)
        rendered = state.metrics.render()
        assert 'rerankit_proxy_redis_errors_total{operation="rate_limit"} 2' in rendered
        assert 'operation="ping"' not in rendered and 'operation="read_ejections"' not in rendered
    finally:
        await state.aclose()
