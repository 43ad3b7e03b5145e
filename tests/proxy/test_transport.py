"""The proxy's keep-alive upstream transport, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import pytest

import rerankit
from rerankit.errors import ProviderConnectionError, ProviderTimeoutError
from rerankit.proxy.ratelimit import RateLimiter
from rerankit.proxy.transport import KeepAliveTransport, upstream_transport
from tests.proxy.conftest import SELF_HOSTED_MODEL

BODY = {"model": "m", "query": {"text": "memory"}, "passages": [{"text": "memory"}]}


async def test_connections_are_reused(open_nim_server):
    before = open_nim_server.connections_opened
    async with httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        for _ in range(5):
            r = await client.post(f"{open_nim_server.url}/v1/ranking", json=BODY)
            assert r.status_code == 200
            assert r.json()["rankings"][0]["index"] == 0
    assert open_nim_server.connections_opened - before == 1


async def test_errors_are_httpx_errors_the_client_maps(open_nim_server):
    client = rerankit.AsyncClient(
        http_client=httpx.AsyncClient(transport=KeepAliveTransport()), timeout=0.5, max_retries=0
    )
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
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b'\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    )
    unframed = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"b":2}'
    replies = [chunked, unframed, chunked]
    server = await asyncio.start_server(
        lambda r, w: _serve_once_per_connection(r, w, replies), "127.0.0.1", 0
    )
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
    async with server, httpx.AsyncClient(transport=KeepAliveTransport()) as client:
        assert (await client.post(url, json={})).json() == {"a": 1}
        # the server closed the kept-alive connection: the next call opens a new one
        assert (await client.post(url, json={})).json() == {"b": 2}
        assert (await client.post(url, json={})).json() == {"a": 1}


def test_an_http_proxy_in_the_environment_keeps_httpx_transport():
    assert upstream_transport({"HTTPS_PROXY": "http://corp:3128"}) is None
    assert isinstance(upstream_transport({}), KeepAliveTransport)


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


async def test_upstream_cookies_never_ride_along_on_later_calls():
    from rerankit.proxy.transport import upstream_http_client

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
            writer.write(
                b"HTTP/1.1 200 OK\r\nSet-Cookie: session=caller-one; Path=/\r\n"
                b"Content-Length: 2\r\n\r\n{}"
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
    async with server:
        client = upstream_http_client(None, timeout=5, keepalive=4)
        for _ in range(2):
            assert (await client.post(url, json={})).status_code == 200
        await client.aclose()
    assert len(seen) == 2
    assert b"caller-one" not in seen[1]
    assert b"cookie" not in seen[1].lower()
