"""The HTTP client `AsyncClient` uses when the caller gives none.

httpx's own async transport (httpcore) loses most of its throughput under concurrency,
and httpx's request pipeline costs more per call than the I/O under it; the same calls
over an aiohttp session run several times faster (docs/benchmarks.md measures httpx,
httpx-aiohttp, httpx2 and aiohttp side by side; docs/architecture.md has the reasoning).

So, when aiohttp is installed (`pip install 'rerankit[fast]'`), `AsyncClient` gets an
`AiohttpClient`: an `httpx.AsyncClient` whose transport is aiohttp (httpx-aiohttp's, so
every httpx method works) and whose `request()` - the one call rerankit makes - goes
straight to the aiohttp session when it carries only a JSON body and headers, skipping
httpx's per-request machinery. Errors come out as httpx's own transport errors, so the
client maps them as before. Without aiohttp, httpx's default transport is used.
Providers never see the difference: they speak `rerankit.wire` types.

`RERANKIT_ASYNC_TRANSPORT=httpx` forces httpx's own transport even when aiohttp is
installed.

In front of both, `lean_async_sender` gives `AsyncClient` rerankit's own HTTP/1.1 client
(`_http1`, on httptools) when it can serve the client exactly: no `transport=` or
`http_client=`, no proxy (neither `proxy=` nor `HTTP(S)_PROXY`/`ALL_PROXY`), httptools
installed, and `RERANKIT_ASYNC_TRANSPORT` not set to `aiohttp` or `httpx` (which force
those). The client above is then built only for the requests the lean one hands on.
`lean_sync_sender` does the same for `Client` (`_http1_sync`, over blocking sockets);
`RERANKIT_SYNC_TRANSPORT=httpx` keeps `httpx.Client` there.

Both honour the same environment and options as the sync client: `HTTP(S)_PROXY`,
`ALL_PROXY` and `NO_PROXY` (aiohttp's `trust_env`, turned on when one is set),
`SSL_CERT_FILE`/`SSL_CERT_DIR` (httpx's `create_ssl_context`, whose context aiohttp uses
too), and the client's `proxy=` and `verify=`.

Every client made here asks for `Accept-Encoding: gzip, deflate` and lets aiohttp
decompress nothing: `send_json` reads the raw body through `_body.BodyReader`, which
decodes it within the caller's size limit.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import weakref
from collections.abc import AsyncIterator, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from ._body import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_BYTES, BodyReader

__all__ = ["default_async_client", "lean_async_sender", "lean_sync_sender"]

#: Pool size of httpx's default transport, so the choice changes speed, not limits.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
#: What `verify=` may be once checked (`_senders.check_verify`).
Verify = bool | ssl.SSLContext
#: Only the encodings `BodyReader` decodes (httpx and aiohttp add br and zstd when their
#: packages are installed).
DEFAULT_HEADERS = {"accept-encoding": ACCEPT_ENCODING}


def default_async_client(
    transport: httpx.AsyncBaseTransport | None,
    timeout: Any,
    *,
    proxy: str | None = None,
    verify: Verify | str = True,
) -> httpx.AsyncClient:
    """The pooled client for `AsyncClient`: on `transport` when given, else the fastest.

    `proxy` (None: the environment's) and `verify` apply to the clients built here.
    """
    if isinstance(verify, str):  # a CA bundle path, from a caller other than the clients
        verify = ssl.create_default_context(cafile=verify)
    if transport is None and os.environ.get("RERANKIT_ASYNC_TRANSPORT", "").lower() != "httpx":
        try:
            return _aiohttp_client(timeout, proxy, verify)
        except ImportError:
            pass
    if transport is not None:  # the caller's transport decides how it connects
        return httpx.AsyncClient(
            transport=transport, timeout=timeout, headers=DEFAULT_HEADERS, cookies=no_cookies()
        )
    return httpx.AsyncClient(
        timeout=timeout,
        headers=DEFAULT_HEADERS,
        proxy=proxy,
        verify=verify,
        trust_env=True,
        cookies=no_cookies(),
    )


def lean_async_sender(
    proxy: str | None, verify: Verify, max_bytes: int, fallback: Callable[[], Any]
) -> Any:
    """rerankit's own HTTP/1.1 sender (`_http1.LeanAsyncSender`) when it serves exactly.

    None when a proxy is configured (`proxy=` or the environment's: it speaks to origins
    only), when `RERANKIT_ASYNC_TRANSPORT` forces `aiohttp` or `httpx`, or without
    httptools (`rerankit[fast]` brings it). `fallback()` makes the sender for the
    requests it hands on; call this only when the caller gave no transport or client.
    """
    if not _lean_fits(proxy, "RERANKIT_ASYNC_TRANSPORT", ("aiohttp", "httpx")):
        return None
    try:
        from ._http1 import LeanAsyncSender
    except ImportError:  # no httptools
        return None
    return LeanAsyncSender(verify, max_bytes, fallback)


def lean_sync_sender(
    proxy: str | None, verify: Verify, max_bytes: int, fallback: Callable[[], Any]
) -> Any:
    """The same for `Client` (`_http1_sync.LeanSender`): `RERANKIT_SYNC_TRANSPORT=httpx`
    keeps httpx's own client."""
    if not _lean_fits(proxy, "RERANKIT_SYNC_TRANSPORT", ("httpx",)):
        return None
    try:
        from ._http1_sync import LeanSender
    except ImportError:  # no httptools
        return None
    return LeanSender(verify, max_bytes, fallback)


def _lean_fits(proxy: str | None, variable: str, forcing: tuple[str, ...]) -> bool:
    if proxy is not None or _proxy_in_environment():
        return False  # it speaks to origins only
    return os.environ.get(variable, "").lower() not in forcing


def _proxy_in_environment() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)


def no_cookies() -> CookieJar:
    """A cookie jar that stores nothing (no domain is allowed to set a cookie).

    One client serves many callers (`rerankit.arerank`'s shared one, a gateway's), so a
    cookie an upstream sets for one call must not ride along on another's; aiohttp's
    session gets `DummyCookieJar` for the same reason.
    """
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def _aiohttp_client(timeout: Any, proxy: str | None, verify: Verify) -> httpx.AsyncClient:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    class Transport(AiohttpTransport):
        """httpx-aiohttp, with its errors mapped as httpx's own transport maps them."""

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.userinfo:
                # httpx already turned them into an Authorization header; aiohttp refuses
                # a request carrying both.
                request.url = request.url.copy_with(username=None, password=None)
            try:
                response = await super().handle_async_request(request)
            except httpx.TransportError as exc:
                raise _remapped(exc) from exc.__cause__
            response.stream = _RemappedStream(response.stream)
            return response

    # httpx's trust store (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), so TLS verification
    # behaves alike.
    ssl_context = httpx.create_ssl_context(verify=verify)
    # aiohttp's trust_env reads the environment on every request (a tenth of a call's
    # cost); pay it only when a proxy is configured, which is what it is for.
    trust_env = proxy is None and _proxy_in_environment()
    connectors: list[Any] = []

    def new_session() -> aiohttp.ClientSession:
        # Called on the first request, inside the event loop the session belongs to.
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS, ssl=ssl_context
        )
        connectors.append(connector)
        # No cookie jar: one client serves many callers (the proxy's serves every caller),
        # and a cookie an upstream set for one call must not ride along on another's.
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=trust_env,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers=DEFAULT_HEADERS,
        )

    transport = Transport(verify=ssl_context, client=new_session)
    # A client never closed (rerankit.arerank's shared one, when its loop ends) must go
    # quietly, as httpx's pool does: close the pool before aiohttp's destructors would
    # report an "Unclosed client session".
    weakref.finalize(transport, _close_pools, connectors)
    return AiohttpClient(transport, timeout, proxy)


class AiohttpClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` on aiohttp, with a short path for JSON POSTs."""

    def __init__(self, transport: Any, timeout: Any, proxy: str | None = None) -> None:
        super().__init__(
            transport=transport, timeout=timeout, headers=DEFAULT_HEADERS, cookies=no_cookies()
        )
        self._aiohttp = transport
        #: The explicit forward proxy of every request (None: the environment's, if any).
        self._proxy = proxy

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        json: Any = None,
        headers: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send through the aiohttp session; other arguments take httpx's full path.

        The body is read whole and decoded by httpx, with no size limit: rerankit's own
        calls go through `send_json` or `send(stream=True)`, both bounded.
        """
        if kwargs:
            return await super().request(
                method, url, json=json, headers=headers, timeout=timeout, **kwargs
            )
        limits = self.timeout if timeout is httpx.USE_CLIENT_DEFAULT else httpx.Timeout(timeout)
        status, raw_headers, content = await self._exchange(
            method, str(url), json, headers, limits.pool, limits.connect, limits.read, None
        )
        # The raw body: httpx.Response decodes it per its Content-Encoding.
        return httpx.Response(status, headers=raw_headers, content=content)

    async def send_json(
        self,
        method: str,
        url: str,
        json: Any,
        headers: Any,
        timeout: float | None,
        max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        *,
        content: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """`request()` for rerankit's own calls, with one `timeout` for every operation.

        Returns the status, the headers (names lower-cased, repeats joined by ", " as
        httpx joins them) and the body, decoded, of at most `max_bytes` (else
        `ResponseTooLarge`): building an `httpx.Response` cost a tenth of an async call in
        the profile, and the client needs only these three. `content`, when given, is sent
        verbatim instead of `json` (a signed body must not be re-serialized).
        """
        status, raw_headers, body = await self._exchange(
            method, url, json, headers, timeout, timeout, timeout, max_bytes, content
        )
        from ._senders import merged_headers  # the senders' module imports this one

        return status, merged_headers(raw_headers), body

    async def _exchange(
        self,
        method: str,
        url: str,
        json: Any,
        headers: Any,
        pool: float | None,
        connect: float | None,
        read: float | None,
        max_bytes: int | None,
        content: bytes | None = None,
    ) -> tuple[int, Any, bytes]:
        """Send; the body comes back raw when `max_bytes` is None, else decoded within it."""
        import aiohttp

        transport = self._aiohttp
        if not isinstance(transport.client, aiohttp.ClientSession):
            transport.client = transport.get_client()
        try:
            async with transport.client.request(
                method,
                url,
                json=json if content is None else None,
                data=content,
                headers=headers,
                proxy=self._proxy,
                allow_redirects=False,  # httpx does not follow redirects by default either
                auto_decompress=False,  # decoded within the limit below (or by httpx)
                timeout=_no_timeout(aiohttp)
                if pool is None and connect is None and read is None
                else aiohttp.ClientTimeout(connect=pool, sock_connect=connect, sock_read=read),
            ) as answer:
                reader = None
                if max_bytes is not None:
                    found = answer.headers
                    reader = BodyReader.open(
                        max_bytes, found.get("content-length"), found.get("content-encoding")
                    )
                if reader is None:  # plain, and of a length aiohttp holds it to
                    body = await answer.read()
                else:
                    async for piece in answer.content.iter_any():
                        reader.feed(piece)
                    body = reader.finish()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _transport_error(exc) from exc
        except ValueError as exc:  # aiohttp's refusal of a request it cannot send as given
            raise httpx.UnsupportedProtocol(str(exc)) from exc
        return answer.status, answer.raw_headers, body


_NO_TIMEOUT: Any = None


def _no_timeout(aiohttp: Any) -> Any:
    """aiohttp's "no timeout at all", made once (no timer is scheduled for the request)."""
    global _NO_TIMEOUT
    if _NO_TIMEOUT is None:
        _NO_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None)
    return _NO_TIMEOUT


def _transport_error(exc: BaseException) -> httpx.TransportError:
    """The httpx error httpx's own transport raises for what aiohttp reported."""
    import aiohttp

    message = str(exc) or type(exc).__name__
    connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
    if isinstance(exc, connect_timeout):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


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
    cause = exc.__cause__
    if isinstance(exc, httpx.ConnectTimeout) and cause is not None:
        return _transport_error(cause)
    return exc


def _close_pools(connectors: list[Any]) -> None:
    for connector in connectors:
        close = getattr(connector, "_close", None)  # aiohttp's own destructor uses it
        if close is not None and not connector.closed:
            close()
