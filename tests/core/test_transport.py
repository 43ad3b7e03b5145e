"""The async client's default transport: aiohttp-backed when httpx-aiohttp is installed.

Run against the fake NIM on 127.0.0.1, so the real aiohttp I/O path is exercised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest

import rerankit
from rerankit._transport import AiohttpClient, default_async_client
from rerankit.errors import ProviderConnectionError, ProviderTimeoutError
from tests.conftest import NIM_KEY

httpx_aiohttp = pytest.importorskip("httpx_aiohttp")

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
DOCS = ["H100 delivers 3TB/s of memory bandwidth", "A100 has 2TB/s", "V100 offers 900GB/s"]


async def test_default_is_the_aiohttp_client_when_installed(monkeypatch):
    monkeypatch.delenv("RERANKIT_ASYNC_TRANSPORT", raising=False)
    client = default_async_client(None, 5.0)
    assert isinstance(client, AiohttpClient)
    assert isinstance(client._transport, httpx_aiohttp.AiohttpTransport)
    await client.aclose()


async def test_environment_switch_selects_httpx_own_transport(monkeypatch):
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", "httpx")
    client = default_async_client(None, 5.0)
    assert type(client) is httpx.AsyncClient
    await client.aclose()


async def test_a_given_transport_is_used_as_is():
    mock = httpx.MockTransport(lambda request: httpx.Response(204))
    client = default_async_client(mock, 5.0)
    assert type(client) is httpx.AsyncClient
    assert (await client.get("http://example.invalid/")).status_code == 204
    await client.aclose()


async def test_other_httpx_calls_go_through_the_aiohttp_transport(nim):
    client = default_async_client(None, 5.0)
    response = await client.get(nim.url + "/v1/health/ready")
    assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        await client.get("http://127.0.0.1:9/")
    await client.aclose()


async def test_per_call_timeout_applies_on_the_short_path(nim):
    async with rerankit.AsyncClient(timeout=30) as client:
        nim.enqueue_faults(["hang"])
        with pytest.raises(ProviderTimeoutError):
            await client.rerank(MODEL, "q", DOCS, api_base=nim.url, api_key=NIM_KEY, timeout=0.3)


async def test_rerank_over_the_default_transport_matches_httpx_transport(nim):
    async with rerankit.AsyncClient() as fast:
        a = await fast.rerank(MODEL, "memory bandwidth", DOCS, api_base=nim.url, api_key=NIM_KEY)
    async with rerankit.AsyncClient(transport=httpx.AsyncHTTPTransport()) as plain:
        b = await plain.rerank(MODEL, "memory bandwidth", DOCS, api_base=nim.url, api_key=NIM_KEY)
    assert a.model_dump(exclude={"id"}) == b.model_dump(exclude={"id"})
    assert nim.requests[-1].headers["authorization"] == f"Bearer {NIM_KEY}"


async def test_status_errors_stay_typed(nim):
    async with rerankit.AsyncClient() as client:
        with pytest.raises(rerankit.AuthenticationError):
            await client.rerank(MODEL, "q", DOCS, api_base=nim.url, api_key="wrong-key")


async def test_refused_connection_is_a_connection_error():
    async with rerankit.AsyncClient() as client:
        with pytest.raises(ProviderConnectionError, match="Could not reach"):
            await client.rerank(MODEL, "q", DOCS, api_base="http://127.0.0.1:9", api_key="k")


async def test_hanging_upstream_is_a_timeout(nim):
    async with rerankit.AsyncClient(timeout=0.3) as client:
        nim.enqueue_faults(["hang"])
        with pytest.raises(ProviderTimeoutError):
            await client.rerank(MODEL, "q", DOCS, api_base=nim.url, api_key=NIM_KEY)


async def test_reset_connection_is_a_connection_error(nim):
    async with rerankit.AsyncClient(timeout=5, max_retries=0) as client:
        nim.enqueue_faults(["reset"])
        with pytest.raises(ProviderConnectionError):
            await client.rerank(MODEL, "q", DOCS, api_base=nim.url, api_key=NIM_KEY)


def test_shared_client_of_a_finished_loop_goes_quietly(nim):
    # rerankit.arerank's per-loop client is never closed by the caller; its aiohttp pool
    # must not log "Unclosed client session" when the loop and the client go away.
    code = textwrap.dedent(f"""
        import asyncio, gc, rerankit
        async def main():
            r = await rerankit.arerank({MODEL!r}, "q", {DOCS!r},
                                       api_base={nim.url!r}, api_key={NIM_KEY!r})
            assert len(r.results) == 3
        asyncio.run(main())
        asyncio.run(main())
        gc.collect()
        print("done")
    """)
    env = {**os.environ}
    env.pop("RERANKIT_ASYNC_TRANSPORT", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"
    assert "Unclosed" not in out.stderr


async def test_send_json_headers_match_httpx_view_of_the_same_answer():
    # Repeated and mixed-case header names, as a real upstream may send them: the short
    # path must give providers what httpx's `Headers.items()` would (lower-cased names,
    # repeats joined by ", "), and the status and body unchanged.
    import asyncio

    answer = (
        b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
        b"Retry-After: 3\r\nX-Note: one\r\nx-note: two\r\nConnection: close\r\n"
        b"Content-Length: 2\r\n\r\n{}"
    )

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/rank"
    client = default_async_client(None, 5.0)
    assert isinstance(client, AiohttpClient)
    try:
        status, headers, content = await client.send_json("POST", url, {"a": 1}, {}, 5.0)
        via_httpx = await client.request("POST", url, json={"a": 1})
    finally:
        await client.aclose()
        server.close()
    assert (status, content) == (429, b"{}")
    assert headers == dict(via_httpx.headers.items())
    assert headers["x-note"] == "one, two"
    assert headers["retry-after"] == "3"
