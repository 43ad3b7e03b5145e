"""The async clients compared: bare floors, transport options, and rerankit itself.

Each factory is an async context manager yielding `call()`, one rerank round trip that
returns the parsed answer. Bare clients send NIM's body by hand and parse the JSON answer:
the least any client must do.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from benchmarks.workload import API_KEY, MODEL, NIM_PATH, QUERY, nim_body, nim_headers

Call = Callable[[], Awaitable[Any]]
Factory = Callable[[str, list[str]], Any]


def installed(module: str) -> bool:
    """Whether `module` can be imported."""
    return importlib.util.find_spec(module) is not None


def _posting(client: Any, base: str, docs: list[str]) -> Call:
    """The benchmark call for any client with httpx's async API (httpx, httpx2)."""
    url, body, headers = base + NIM_PATH, nim_body(QUERY, docs), nim_headers()

    async def call() -> Any:
        response = await client.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    return call


@asynccontextmanager
async def bare_httpx(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`httpx.AsyncClient.post` with its default transport (httpcore)."""
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:
        yield _posting(client, base, docs)


@asynccontextmanager
async def bare_aiohttp(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """A bare `aiohttp.ClientSession.post`."""
    import aiohttp

    url, body, headers = base + NIM_PATH, nim_body(QUERY, docs), nim_headers()
    async with aiohttp.ClientSession() as session:

        async def call() -> Any:
            async with session.post(url, json=body, headers=headers) as response:
                response.raise_for_status()
                return await response.json()

        yield call


@asynccontextmanager
async def httpx_aiohttp(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`httpx.AsyncClient` over httpx-aiohttp's `AiohttpTransport`."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    async with httpx.AsyncClient(transport=AiohttpTransport(), timeout=60) as client:
        yield _posting(client, base, docs)


@asynccontextmanager
async def httpx2_client(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`httpx2.AsyncClient`, the maintained httpx fork."""
    import httpx2

    async with httpx2.AsyncClient(timeout=60) as client:
        yield _posting(client, base, docs)


@asynccontextmanager
async def rerankit_arerank(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`rerankit.arerank` as users call it (shared client, default transport)."""
    import rerankit
    from rerankit._default import shared_async_client

    async def call() -> Any:
        return await rerankit.arerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

    try:
        yield call
    finally:
        await shared_async_client().aclose()


@contextmanager
def forced_transport(variable: str, value: str) -> Iterator[None]:
    """`variable` set to `value` meanwhile: a client made and first called inside keeps it.

    rerankit reads `RERANKIT_ASYNC_TRANSPORT` / `RERANKIT_SYNC_TRANSPORT` when a client
    makes its sender, on its first call.
    """
    before = os.environ.get(variable)
    os.environ[variable] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[variable]
        else:
            os.environ[variable] = before


@asynccontextmanager
async def rerankit_aiohttp(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`rerankit.AsyncClient` on aiohttp, the transport it used before its own HTTP/1.1
    client: its overhead over the bare aiohttp session's own machinery."""
    import rerankit

    async with rerankit.AsyncClient() as client:

        async def call() -> Any:
            return await client.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

        with forced_transport("RERANKIT_ASYNC_TRANSPORT", "aiohttp"):
            await call()
        yield call


@asynccontextmanager
async def rerankit_httpcore(base: str, docs: list[str]) -> AsyncIterator[Call]:
    """`rerankit.AsyncClient` forced onto httpx's own transport (httpcore)."""
    import httpx

    import rerankit

    async with rerankit.AsyncClient(transport=httpx.AsyncHTTPTransport()) as client:

        async def call() -> Any:
            return await client.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

        yield call


#: label -> (factory, module it needs)
ASYNC_CLIENTS: dict[str, tuple[Factory, str]] = {
    "httpx.AsyncClient (floor)": (bare_httpx, "httpx"),
    "aiohttp session (floor)": (bare_aiohttp, "aiohttp"),
    "httpx + httpx-aiohttp transport": (httpx_aiohttp, "httpx_aiohttp"),
    "httpx2.AsyncClient": (httpx2_client, "httpx2"),
    "rerankit.arerank": (rerankit_arerank, "rerankit"),
    "rerankit.AsyncClient on aiohttp": (rerankit_aiohttp, "aiohttp"),
    "rerankit.AsyncClient on httpcore": (rerankit_httpcore, "rerankit"),
}
