"""One overall deadline per call: retries, chunks and slow answers all fit in `timeout`.

Hangs on a real socket are in tests/integration/test_fault_matrix.py; here the upstream is
an in-process transport that drips its body or sleeps (async), so the deadline logic is
tested without the network.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from rerankit import AsyncClient, Client
from rerankit._deadline_io import install
from rerankit.errors import InvalidParameterError, ProviderTimeoutError, ServerError

from .fakes import registry

DOCS = ["alpha", "beta", "gamma"]
BODY = json.dumps({"results": [{"index": i, "score": -i} for i in range(3)]}).encode()
SLACK = 1.5  # generous: the deadline holds to a few ms, CI machines are slow


class Drip(httpx.SyncByteStream):
    """A body that arrives one byte every `pause` seconds."""

    def __init__(self, pause: float) -> None:
        self.pause = pause

    def __iter__(self) -> Iterator[bytes]:
        for byte in BODY:
            time.sleep(self.pause)
            yield bytes([byte])


class AsyncDrip(httpx.AsyncByteStream):
    def __init__(self, pause: float) -> None:
        self.pause = pause

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for byte in BODY:
            await asyncio.sleep(self.pause)
            yield bytes([byte])


def test_sync_slow_drip_stops_at_the_deadline():
    client = Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Drip(0.05))),
        registry=registry(),
    )
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError, match="within timeout=1s") as info:
        client.rerank("echo/m", "q", DOCS, timeout=1)
    assert time.monotonic() - started < 1 + SLACK
    assert info.value.attempts == 1


def test_sync_repeated_503s_end_within_the_deadline():
    calls = []

    def handle(request):
        calls.append(1)
        return httpx.Response(503, headers={"Retry-After": "0.2"})

    client = Client(transport=httpx.MockTransport(handle), registry=registry(), max_retries=100)
    started = time.monotonic()
    with pytest.raises(ServerError) as info:
        client.rerank("echo/m", "q", DOCS, timeout=1)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + SLACK
    assert 3 <= len(calls) <= 6  # retried while the deadline allowed, not beyond
    assert info.value.attempts == len(calls) and info.value.last_status == 503


async def test_async_hang_stops_at_the_deadline():
    async def hang(request):
        await asyncio.sleep(60)

    async with AsyncClient(transport=httpx.MockTransport(hang), registry=registry()) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError, match=r"within timeout=0\.5s"):
            await client.rerank("echo/m", "q", DOCS, timeout=0.5)
    assert time.monotonic() - started < 0.5 + SLACK


async def test_async_slow_drip_stops_at_the_deadline():
    transport = httpx.MockTransport(lambda r: httpx.Response(200, stream=AsyncDrip(0.05)))
    async with AsyncClient(transport=transport, registry=registry(), timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError):
            await client.rerank("echo/m", "q", DOCS)
    assert time.monotonic() - started < 1 + SLACK


async def test_async_deadline_covers_every_chunk_and_retry():
    async def slow_503(request):
        await asyncio.sleep(0.1)
        return httpx.Response(503)

    transport = httpx.MockTransport(slow_503)
    async with AsyncClient(
        transport=transport, registry=registry(), max_retries=50, retry_backoff=0.05
    ) as client:
        started = time.monotonic()
        # Either a chunk stops retrying because the next wait would pass the deadline (its
        # real ServerError) or the deadline cuts a request in flight (a timeout): both end
        # in time and say the upstream kept answering 503.
        with pytest.raises((ServerError, ProviderTimeoutError)) as info:
            await client.rerank("echo/m", "q", ["d"] * 40, timeout=1, max_documents_per_request=4)
    assert time.monotonic() - started < 1 + SLACK
    assert info.value.last_status == 503 and info.value.attempts >= 2  # per chunk


async def test_async_cancellation_propagates_promptly():
    entered = asyncio.Event()

    async def hang(request):
        entered.set()
        await asyncio.sleep(60)

    async with AsyncClient(transport=httpx.MockTransport(hang), registry=registry()) as client:
        task = asyncio.create_task(
            client.rerank("echo/m", "q", ["d"] * 10, max_documents_per_request=3)
        )
        await entered.wait()
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


def test_a_deadline_long_enough_changes_nothing():
    client = Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=Drip(0.001))),
        registry=registry(),
    )
    r = client.rerank("echo/m", "q", DOCS, timeout=30)
    assert [x.index for x in r.results] == [0, 1, 2]


@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_timeout_must_be_positive_seconds(value):
    with pytest.raises(InvalidParameterError, match="timeout"):
        Client(registry=registry()).rerank("echo/m", "q", DOCS, timeout=value)


def test_timeout_none_means_no_deadline():
    client = Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=BODY)),
        registry=registry(),
        timeout=None,
    )
    assert len(client.rerank("echo/m", "q", DOCS).results) == 3


@pytest.fixture
def stalling_server():
    """A real socket on 127.0.0.1 that sends headers and a few body bytes, then stalls."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            conn.recv(65536)
            stop.wait(1.8)  # most of the call's 2 s pass before the first bytes
            head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(BODY)}\r\n\r\n".encode()
            conn.sendall(head + BODY[:5])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_sync_stall_after_some_bytes_ends_at_the_deadline(stalling_server):
    # The bytes arrive after 1.8 s; without deadline-capped sockets the stall would cost a
    # further full read timeout (2 s, the time left when the request was sent): 3.8 s.
    with Client(registry=registry(), max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(ProviderTimeoutError):
            client.rerank("echo/m", "q", DOCS, api_base=stalling_server, timeout=2)
        assert time.monotonic() - started < 3.0


def test_deadline_capped_sockets_fit_this_httpx():
    # If an httpx/httpcore upgrade moves the pool's backend, the sync client silently loses
    # the exact deadline on stalls (it still checks between reads): fail loudly here.
    assert install(httpx.HTTPTransport()) is True
