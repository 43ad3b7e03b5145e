"""The proxy's upstream client: a plain `rerankit.AsyncClient` on core's default HTTP
client (aiohttp, cookie-free), against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

import rerankit
from rerankit.errors import ProviderConnectionError, ProviderTimeoutError
from rerankit_proxy.ratelimit import RateLimiter
from tests.proxy.conftest import SELF_HOSTED_MODEL


async def test_connections_are_reused(open_nim_server):
    before = open_nim_server.connections_opened
    async with rerankit.AsyncClient(timeout=5) as client:
        for _ in range(5):
            r = await client.rerank(
                SELF_HOSTED_MODEL, "memory", ["memory"], api_base=open_nim_server.url
            )
            assert r.results[0].index == 0
    assert open_nim_server.connections_opened - before == 1


async def test_errors_are_httpx_errors_the_client_maps(open_nim_server):
    client = rerankit.AsyncClient(timeout=0.5, max_retries=0)
    kwargs = {"api_base": open_nim_server.url}
    open_nim_server.enqueue_faults(["reset"])
    with pytest.raises(ProviderConnectionError):
        await client.rerank(SELF_HOSTED_MODEL, "q", ["d"], **kwargs)
    open_nim_server.enqueue_faults(["hang"])
    with pytest.raises(ProviderTimeoutError):
        await client.rerank(SELF_HOSTED_MODEL, "q", ["d"], **kwargs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ProviderConnectionError):
        await client.rerank(SELF_HOSTED_MODEL, "q", ["d"], api_base=dead)
    # and the pool still works afterwards
    r = await client.rerank(SELF_HOSTED_MODEL, "q", ["q", "d"], **kwargs)
    assert len(r.results) == 2
    await client.aclose()
    open_nim_server.clear()


async def _serve_once_per_connection(reader, writer, replies):
    """Answer one request per connection with the next raw reply, then close."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(replies.pop(0))
    await writer.drain()
    writer.close()


async def test_chunked_and_unframed_answers_and_server_closed_connections():
    # {"rankings": [{"index": 1, "logit": 2.0}, {"index": 0, "logit": 1.0}]}, cut in pieces
    first, second = b'{"rankings": [{"index": 1, "logit": 2.0},', b' {"index": 0, "logit": 1.0}]}'
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b"\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(first), first, len(second), second)
    )
    unframed = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + first + second
    replies = [chunked, unframed, chunked]
    server = await asyncio.start_server(
        lambda r, w: _serve_once_per_connection(r, w, replies), "127.0.0.1", 0
    )
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server, rerankit.AsyncClient(timeout=5, max_retries=0) as client:

        async def order() -> list[int]:
            r = await client.rerank(SELF_HOSTED_MODEL, "q", ["a", "b"], api_base=base)
            return [result.index for result in r.results]

        assert await order() == [1, 0]
        # the server closed the kept-alive connection: the next call opens a new one
        # (once the close has arrived: a POST on a connection closed in that very instant
        # is not resent, and fails as a connection error the router retries elsewhere)
        await asyncio.sleep(0.05)
        assert await order() == [1, 0]
        await asyncio.sleep(0.05)
        assert await order() == [1, 0]


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.acquire(b"k", 2) for _ in range(2)] == [None, None]
    wait = limiter.acquire(b"k", 2)
    assert wait == pytest.approx(30.0)  # 2 per minute: one every 30 s
    assert limiter.acquire(b"other", 2) is None
    now[0] = 30.0
    assert limiter.acquire(b"k", 2) is None
    # with 2 workers each enforces half of the rate
    split = RateLimiter(workers=2, clock=lambda: 0.0)
    assert [split.acquire(b"k", 4) is None for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("transport", ["default", "httpx"])
async def test_upstream_cookies_never_ride_along_on_later_calls(monkeypatch, transport):
    # both of core's clients: aiohttp's session and httpx's own transport
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    seen: list[bytes] = []

    async def handle(reader, writer):
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            seen.append(head)
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            answer = b'{"rankings": [{"index": 0, "logit": 1.0}]}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: session=caller-one; Path=/\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server, rerankit.AsyncClient(timeout=5, max_retries=0) as client:
        for _ in range(2):
            r = await client.rerank(SELF_HOSTED_MODEL, "q", ["d"], api_base=base)
            assert r.results[0].index == 0
    assert len(seen) == 2
    assert b"caller-one" not in seen[1]
    assert b"cookie" not in seen[1].lower()
