"""A lean HTTP/1.1 keep-alive transport for the proxy's upstream calls.

The proxy sends every upstream call through `rerankit.AsyncClient` (so every provider
works behind it), and that client sends through an `httpx.AsyncClient`. httpx's default
transport (httpcore on anyio) costs a few milliseconds of CPU per request on a small
machine and slows down further with many connections, which made it the proxy's
bottleneck (see docs/proxy.md, Performance). This transport plugs into httpx in its
place: a pool of idle connections per host (asyncio streams, TLS with httpx's default
context), the request written in one go, the response read by content length or chunks.

Errors are httpx's own (`ConnectError`, `ReadTimeout`, ...), so the client maps them as
usual. A kept-alive connection the server closed meanwhile is replaced once,
transparently. Environments that route through an HTTP proxy (`HTTPS_PROXY`, ...) get
httpx's default transport instead (`upstream_transport`).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from typing import Any

import httpx

__all__ = ["KeepAliveTransport", "NoCookies", "upstream_http_client", "upstream_transport"]

#: Seconds an idle connection is kept (servers commonly close theirs after 5).
KEEPALIVE_EXPIRY = 4.0
#: Largest upstream answer read, in bytes.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

_Key = tuple[str, str, int]


class _StaleConnection(Exception):
    """A kept-alive connection was closed by the server before it answered."""


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with a pool of idle connections per (scheme, host, port)."""

    def __init__(self, *, max_idle_per_host: int = 256) -> None:
        self._idle: dict[_Key, list[_Connection]] = {}
        self._max_idle = max_idle_per_host
        self._ssl: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and read the whole answer."""
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Unsupported URL scheme {scheme!r}.", request=request)
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head, body = _encode(request, url, port)
        connection = self._checkout(key)
        if connection is not None:
            try:
                return await self._exchange(key, connection, request, head, body, timeouts)
            except _StaleConnection:
                pass  # the server had closed it: once more on a new connection
        connection = await self._connect(key, request, timeouts.get("connect"))
        try:
            return await self._exchange(key, connection, request, head, body, timeouts)
        except _StaleConnection:
            raise httpx.RemoteProtocolError(
                "The server closed the connection without answering.", request=request
            ) from None

    def _checkout(self, key: _Key) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < KEEPALIVE_EXPIRY and not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    def _checkin(self, key: _Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(
        self, key: _Key, request: httpx.Request, timeout: float | None
    ) -> _Connection:
        scheme, host, port = key
        context: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            context = self._ssl
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("Timed out connecting.", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return _Connection(reader, writer)

    async def _exchange(
        self,
        key: _Key,
        connection: _Connection,
        request: httpx.Request,
        head: bytes,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        reused = connection.idle_since != 0.0
        try:
            async with asyncio.timeout(timeouts.get("read")):
                connection.writer.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    connection.writer.write(body)
                try:
                    status_line = await connection.reader.readuntil(b"\r\n")
                except asyncio.IncompleteReadError as exc:
                    if reused and not exc.partial:
                        raise _StaleConnection from None
                    raise
                status, headers, keep_alive = await _read_head(connection.reader, status_line)
                content, delimited = await _read_body(
                    connection.reader, status, headers, request.method
                )
        except _StaleConnection:
            connection.close()
            raise
        except TimeoutError:
            connection.close()
            raise httpx.ReadTimeout("Timed out reading the answer.", request=request) from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            connection.close()
            if reused and isinstance(exc, ConnectionResetError | BrokenPipeError):
                raise _StaleConnection from None
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        except ValueError as exc:
            connection.close()
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        if keep_alive and delimited:
            self._checkin(key, connection)
        else:
            connection.close()
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(content),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close every idle connection."""
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def _encode(request: httpx.Request, url: httpx.URL, port: int) -> tuple[bytes, bytes]:
    body = request.content  # the client built it from json=: already in memory
    lines = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower == b"content-length":
            has_length = True
        elif lower == b"transfer-encoding":
            continue  # the body is sent whole, with its length
        lines.append(name + b": " + value)
    if not has_length and (body or request.method in ("POST", "PUT", "PATCH")):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n", body


async def _read_head(
    reader: asyncio.StreamReader, status_line: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bool]:
    while True:
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise ValueError(f"Not an HTTP/1.1 status line: {status_line[:80]!r}")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        keep_alive = parts[0] == b"HTTP/1.1"
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, sep, value = line.partition(b":")
            if not sep:
                raise ValueError(f"Malformed header line: {line[:80]!r}")
            value = value.strip()
            headers.append((name, value))
            if name.lower() == b"connection":
                token = value.lower()
                keep_alive = token == b"keep-alive" or (keep_alive and token != b"close")
        if status >= 200 or status == 101:
            return status, headers, keep_alive
        status_line = await reader.readuntil(b"\r\n")  # 1xx: the real answer follows


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: list[tuple[bytes, bytes]], method: str
) -> tuple[bytes, bool]:
    """The body, and whether its end was marked (else it ran to the connection's end)."""
    if method == "HEAD" or status in (204, 304):
        return b"", True
    length: int | None = None
    chunked = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            length = int(value)
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if chunked:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return b"".join(chunks), True
            total += size
            if total > MAX_RESPONSE_BYTES:
                raise ValueError("The answer is larger than the proxy reads.")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    if length is not None:
        if length > MAX_RESPONSE_BYTES:
            raise ValueError("The answer is larger than the proxy reads.")
        return await reader.readexactly(length), True
    content = await reader.read(MAX_RESPONSE_BYTES + 1)
    while not reader.at_eof() and len(content) <= MAX_RESPONSE_BYTES:
        more = await reader.read(MAX_RESPONSE_BYTES + 1 - len(content))
        if not more:
            break
        content += more
    return content, False


def upstream_transport(environ: Any = None) -> httpx.AsyncBaseTransport | None:
    """The transport for upstream calls: ours, or httpx's when an HTTP proxy is configured."""
    environ = os.environ if environ is None else environ
    if any(environ.get(name) for name in _PROXY_ENV):
        return None
    return KeepAliveTransport()


class NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing.

    The proxy's one upstream client serves every caller: a cookie an upstream sets for one
    call must not ride along on the next caller's call. Keeping none also saves httpx's
    per-response cookie parsing (about a tenth of a proxied call's CPU).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore the response's cookies."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Send no cookies."""


def upstream_http_client(
    transport: httpx.AsyncBaseTransport | None, *, timeout: float, keepalive: int
) -> httpx.AsyncClient:
    """The pooled httpx client behind the proxy's `rerankit.AsyncClient`, without cookies."""
    client = httpx.AsyncClient(
        transport=transport or upstream_transport(),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=keepalive),
        timeout=timeout,
    )
    # httpx has no switch for its cookie jar; its setter would copy into a plain one.
    client._cookies = NoCookies()
    return client
