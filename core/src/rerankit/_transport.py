"""The HTTP transport `AsyncClient` uses when the caller gives none.

httpx's own async transport (httpcore) loses most of its throughput under concurrency;
the same calls over aiohttp run several times faster (docs/benchmarks.md measures both,
docs/architecture.md has the reasoning). So, when the optional `httpx-aiohttp` package
is installed (`pip install 'rerankit[fast]'`), `AsyncClient` sends through its
aiohttp-backed transport: the httpx API (and `transport=` / `http_client=` for callers)
stays, only the I/O underneath changes. Without it, httpx's default transport is used.
Providers never see the difference: they speak `rerankit.wire` types.

`RERANKIT_ASYNC_TRANSPORT=httpx` forces httpx's own transport even when the fast one is
installed.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["default_async_transport"]

#: Pool size of httpx's default transport, so the choice changes speed, not limits.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0


def default_async_transport() -> httpx.AsyncBaseTransport | None:
    """An aiohttp-backed transport when `httpx-aiohttp` is installed, else None (httpx's)."""
    if os.environ.get("RERANKIT_ASYNC_TRANSPORT", "").lower() == "httpx":
        return None
    try:
        import aiohttp  # noqa: F401
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return None
    return _aiohttp_transport()


def _aiohttp_transport() -> httpx.AsyncBaseTransport:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    class Transport(AiohttpTransport):
        """httpx-aiohttp, with its errors mapped as httpx's own transport maps them."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response = await super().handle_async_request(request)
            except httpx.TransportError as exc:
                raise _remapped(exc) from exc.__cause__
            response.stream = _RemappedStream(response.stream)
            return response

    # httpx's trust store (certifi) and proxy variables, so TLS and proxies behave alike.
    ssl_context = httpx.create_ssl_context()
    connectors: list[Any] = []

    def new_session() -> aiohttp.ClientSession:
        # Called on the first request, inside the event loop the session belongs to.
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS, ssl=ssl_context
        )
        connectors.append(connector)
        return aiohttp.ClientSession(connector=connector, trust_env=True)

    transport = Transport(verify=ssl_context, client=new_session)
    # A client never closed (rerankit.arerank's shared one, when its loop ends) must go
    # quietly, as httpx's pool does: close the pool before aiohttp's destructors would
    # report an "Unclosed client session".
    weakref.finalize(transport, _close_pools, connectors)
    return transport


def _close_pools(connectors: list[Any]) -> None:
    for connector in connectors:
        close = getattr(connector, "_close", None)  # aiohttp's own destructor uses it
        if close is not None and not connector.closed:
            close()


class _RemappedStream(httpx.AsyncByteStream):
    """The response body, with read errors mapped like the request's."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            raise _remapped(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


def _remapped(exc: httpx.TransportError) -> httpx.TransportError:
    """httpx-aiohttp reports every aiohttp connection error, a refused connection or a
    reset included, as `ConnectTimeout`; say what happened instead."""
    import aiohttp

    cause = exc.__cause__
    if not isinstance(exc, httpx.ConnectTimeout) or isinstance(
        cause, asyncio.TimeoutError | aiohttp.ServerTimeoutError
    ):
        return exc
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc))
    if isinstance(cause, aiohttp.ClientConnectionError):
        return httpx.ReadError(str(exc))
    return exc
