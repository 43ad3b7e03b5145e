"""A lean, pooled HTTP/1.1 client: what the async client sends through by default.

The profile put aiohttp's request machinery (session, request and response objects,
timers, URL objects, stream readers) at 0.10-0.20 ms per request, the largest single
cost left on the proxy's and the async SDK's path. rerankit needs far less of HTTP: one
JSON POST at a time per connection, an answer read whole within a size limit. So this
module does only that:

- `request_bytes` writes the request head and body as one buffer (names and values with
  CR, LF or NUL are refused: they would split the request);
- `ResponseParser` wraps httptools' C parser (llhttp, also under uvicorn): status,
  headers merged as httpx merges them, the body through `_body.BodyReader` within the
  size limit; chunked and close-delimited bodies, 1xx answers skipped; the head's size
  and header count, which the upstream controls, are capped;
- `Connection` is an `asyncio.Protocol` (no stream reader): `data_received` feeds the
  parser, and one future per exchange is resolved when the answer is complete;
- `Pool` keeps connections per origin: LIFO idle lists, at most `MAX_CONNECTIONS` in all,
  idle ones expire after `KEEPALIVE_SECONDS` (checked when one is taken: no timers);
- `LeanAsyncSender` is the `_senders.AsyncSender` on top; whatever it cannot send exactly
  as httpx would (per-operation `httpx.Timeout`s, userinfo in the URL, other schemes) it
  hands to the existing sender, built on first need.

It arms no timers of its own: the async client's `asyncio.timeout` bounds each exchange,
and a cancelled exchange closes its connection (it never goes back to the pool half-read).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import urlsplit

import httptools
import httpx

from ._body import ACCEPT_ENCODING, BodyReader, ResponseTooLarge
from ._senders import AsyncSender, SendError, VerifyTypes, _body, merged_headers
from .errors import InvalidParameterError
from .wire import HttpRequest, HttpResponse

__all__ = [
    "MAX_CONNECTIONS",
    "KEEPALIVE_SECONDS",
    "MAX_HEAD_BYTES",
    "MAX_HEADERS",
    "Origin",
    "Target",
    "target",
    "request_bytes",
    "ssl_context",
    "ResponseParser",
    "Connection",
    "Pool",
    "LeanAsyncSender",
]

#: As httpx's and aiohttp's pools: the choice of client changes speed, not limits.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 5.0
#: The answer's status line and headers together (h11, under httpx, allows 64 KiB too).
MAX_HEAD_BYTES = 64 * 1024
#: Header lines in one answer: a rerank answer has about ten.
MAX_HEADERS = 100

#: What an HTTP method or header name may be made of (RFC 9110's token).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
#: Headers this module writes itself from the request: a provider's copy is dropped.
_OWN = frozenset({"content-length", "transfer-encoding", "connection"})
_PROTOCOL_ERROR = "RemoteProtocolError"  # the name httpx's transport gives the same faults


class Origin(NamedTuple):
    """Where a connection goes: one pool of connections each."""

    scheme: str
    host: str
    port: int


class Target(NamedTuple):
    """A URL, split once: the origin, the request target and the Host header."""

    origin: Origin
    path: str
    host_header: str


@functools.lru_cache(maxsize=512)
def target(url: str) -> Target | None:
    """`url` split for sending, or None when this client cannot send it exactly.

    None for a scheme other than http/https, userinfo (httpx turns it into an
    Authorization header), a non-ASCII host or path, or characters httpx would
    percent-encode: those requests take the full HTTP library. Memoised: a client
    sends to a handful of URLs.
    """
    if not url.isascii() or any(c in url for c in ' "<>\\^`{|}\r\n\t\0'):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        return None
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port is None or port == default else f"{shown}:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(Origin(scheme, host, port or default), path, host_header)


@functools.cache
def _user_agent() -> str:
    from . import __version__

    return f"rerankit/{__version__}"


def _refuse(name: str, what: str = "header") -> InvalidParameterError:
    # The value is not shown: it may be a key.
    return InvalidParameterError(
        f"the request {what} {name!r} contains a CR, LF or NUL character (or its name is "
        "not a valid HTTP token), which would let it split the HTTP request; it was not "
        "sent. Check the api_key and the headers you pass.",
        parameter="headers",
    )


def request_bytes(
    method: str, where: Target, headers: Mapping[str, str], body: bytes | None
) -> bytes:
    """The whole request as one buffer: head, then body.

    The Host header carries the port when it is not the scheme's default; content-length
    is always this module's; accept-encoding and user-agent are added unless the provider
    set its own. A name that is not an HTTP token, or a value with CR, LF or NUL, is an
    `InvalidParameterError`. Text is ASCII, else UTF-8 (httpx's rule).
    """
    if _TOKEN(method) is None:
        raise _refuse(method, "method")
    parts = [method, " ", where.path, " HTTP/1.1\r\n"]
    has_host = has_agent = has_encoding = False
    for name, value in headers.items():
        lower = name.lower()
        if lower in _OWN:
            continue
        if _TOKEN(name) is None or "\r" in value or "\n" in value or "\0" in value:
            raise _refuse(name)
        if lower == "host":
            has_host = True
        elif lower == "user-agent":
            has_agent = True
        elif lower == "accept-encoding":
            has_encoding = True
        parts += (name, ": ", value, "\r\n")
    if not has_host:
        parts += ("host: ", where.host_header, "\r\n")
    if not has_encoding:
        parts += ("accept-encoding: ", ACCEPT_ENCODING, "\r\n")
    if not has_agent:
        parts += ("user-agent: ", _user_agent(), "\r\n")
    if body is not None or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        parts += ("content-length: ", str(len(body) if body else 0), "\r\n")
    parts.append("\r\n")
    text = "".join(parts)
    try:
        head = text.encode("ascii")
    except UnicodeEncodeError:  # latin-1 would silently change what was meant
        head = text.encode("utf-8")
    return head + body if body else head


class ResponseParser:
    """One connection's answers, parsed by httptools; the callbacks are httptools' API.

    Feed it bytes with `feed` and tell it of the end of the stream with `eof`; once
    `done`, `result()` gives the status, headers and decoded body. Every fault is a
    `SendError`: the limits on the head, a malformed answer, an answer cut short, a body
    over `max_bytes` or undecodable.
    """

    __slots__ = (
        "_error",
        "_head_bytes",
        "_informational",
        "_parser",
        "_pieces",
        "_raw",
        "_raw_head_bytes",
        "_reader",
        "close_delimited",
        "done",
        "headers",
        "keep_alive",
        "max_bytes",
        "received",
        "status",
    )

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._parser = httptools.HttpResponseParser(self)
        self.start()

    def start(self) -> None:
        """Ready for the next exchange's answer."""
        self.received = False  # any byte of this exchange's answer yet
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.headers: dict[str, str] = {}
        self.close_delimited = False
        self._raw: list[tuple[bytes, bytes]] = []
        self._reader: BodyReader | None = None
        self._pieces: list[bytes] = []
        self._informational = False
        self._head_bytes = 0  # every head of the exchange, 1xx ones included
        self._raw_head_bytes = 0
        self._error: SendError | None = None

    # -- httptools' callbacks -------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:  # another answer after this one's: stop here (feed keeps this one)
            raise self._fail("connect", _PROTOCOL_ERROR, "the upstream sent bytes after its answer")
        self._raw = []

    def on_status(self, status: bytes) -> None:
        self._count(len(status) + 16)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        if len(self._raw) >= MAX_HEADERS:
            raise self._fail(
                "connect", _PROTOCOL_ERROR, f"the answer has more than {MAX_HEADERS} headers"
            )
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and friends: the real answer follows
            self._informational = True
            return
        self.status = status
        headers = self.headers = merged_headers(self._raw)
        try:
            self._reader = BodyReader.open(
                self.max_bytes, headers.get("content-length"), headers.get("content-encoding")
            )
        except ResponseTooLarge as exc:
            raise self._fail("too_large", type(exc).__name__, str(exc), exc) from None
        except httpx.DecodingError as exc:
            raise self._fail("decode", type(exc).__name__, str(exc)) from None
        self.close_delimited = (
            "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
            and status not in (204, 304)
        )

    def on_body(self, body: bytes) -> None:
        if not body:
            return
        reader = self._reader
        if reader is None:  # plain, and llhttp holds it to its declared length
            self._pieces.append(body)
            return
        try:
            reader.feed(body)
        except ResponseTooLarge as exc:
            raise self._fail("too_large", type(exc).__name__, str(exc), exc) from None
        except httpx.DecodingError as exc:
            raise self._fail("decode", type(exc).__name__, str(exc)) from None

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.keep_alive = self._parser.should_keep_alive()
        self.done = True

    # -- what the connection calls --------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse the next bytes off the wire."""
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.done:  # bytes after a complete answer: keep the answer, not the socket
                self.keep_alive = False
                return
            if isinstance(exc, httptools.HttpParserCallbackError) and self._error is not None:
                raise self._error from None
            if isinstance(exc, httptools.HttpParserUpgrade):
                raise SendError(
                    "connect", _PROTOCOL_ERROR, "the upstream switched protocols"
                ) from None
            raise SendError(
                "connect", _PROTOCOL_ERROR, f"the upstream's answer is not valid HTTP/1.1 ({exc})"
            ) from None
        if not self.status and not self.done:
            # The head is still coming (so all of `data` was head): one endless header
            # line never reaches on_header, so count the raw bytes too.
            self._raw_head_bytes += len(data)
            if self._raw_head_bytes > MAX_HEAD_BYTES:
                raise self._head_too_large()

    def eof(self) -> None:
        """The upstream closed the connection: the answer ends here, complete or not."""
        if self.done:
            return
        if self.status and self.close_delimited:
            self.done = True
            self.keep_alive = False
            return
        said = "before answering" if not self.received else "before its answer was complete"
        raise SendError("connect", _PROTOCOL_ERROR, f"the upstream closed the connection {said}")

    def result(self) -> tuple[int, dict[str, str], bytes]:
        """The status, the headers and the decoded body of a complete answer."""
        reader = self._reader
        if reader is None:
            pieces = self._pieces
            body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        else:
            try:
                body = reader.finish()
            except ResponseTooLarge as exc:
                raise SendError(
                    "too_large", type(exc).__name__, str(exc), exc.limit, exc.declared
                ) from None
            except httpx.DecodingError as exc:
                raise SendError("decode", type(exc).__name__, str(exc)) from None
        return self.status, self.headers, body

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise self._head_too_large()

    def _head_too_large(self) -> SendError:
        return self._fail(
            "connect", _PROTOCOL_ERROR, f"the answer's head is larger than {MAX_HEAD_BYTES} bytes"
        )

    def _fail(
        self, kind: Any, name: str, detail: str, too_large: ResponseTooLarge | None = None
    ) -> SendError:
        # Kept: httptools wraps what a callback raises in its own error.
        limit, declared = (too_large.limit, too_large.declared) if too_large else (0, None)
        error = self._error = SendError(kind, name, detail, limit, declared)
        return error


def ssl_context(verify: VerifyTypes) -> ssl.SSLContext:
    """The TLS context for `verify`: httpx's trust store and rules (certifi,
    SSL_CERT_FILE/SSL_CERT_DIR, verify=), so verification behaves as on every other
    transport; ALPN offers http/1.1 only, except on a caller's own context (never changed).
    """
    context = httpx.create_ssl_context(verify=verify)
    if not isinstance(verify, ssl.SSLContext):
        context.set_alpn_protocols(["http/1.1"])
    return context


class _Idle(Protocol):
    """What `evict` needs of a pooled connection (async or sync)."""

    origin: Origin
    idle_since: float


_C = TypeVar("_C", bound=_Idle)


def evict(
    idle: dict[Origin, list[_C]], unusable: Callable[[_C], bool], drop: Callable[[_C], None]
) -> bool:
    """Free a pool slot held by an idle connection: every `unusable` one, else the one
    idle longest. False when no connection is idle. The async and the sync pool's rule."""
    freed = False
    oldest: _C | None = None
    for connections in idle.values():
        for connection in list(connections):
            if unusable(connection):
                connections.remove(connection)
                drop(connection)
                freed = True
            elif oldest is None or connection.idle_since < oldest.idle_since:
                oldest = connection
    if freed or oldest is None:
        return freed
    idle[oldest.origin].remove(oldest)
    drop(oldest)
    return True


class Connection(asyncio.Protocol):
    """One keep-alive connection: one exchange at a time, one future per exchange."""

    __slots__ = ("_waiter", "closed", "idle_since", "loop", "origin", "parser", "transport")

    def __init__(self, origin: Origin, max_bytes: int, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop
        self.parser = ResponseParser(max_bytes)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for (an idle connection, a late answer): unusable.
            self.abort()
            return
        parser = self.parser
        try:
            parser.feed(data)
        except SendError as exc:
            waiter.set_exception(exc)
            return
        if parser.done:
            waiter.set_result(None)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost ends the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            self.parser.eof()
        except SendError as error:
            waiter.set_exception(error)
            return
        waiter.set_result(None)

    async def exchange(self, data: bytes) -> ResponseParser:
        """Send `data` (a whole request) and wait for the complete answer."""
        parser = self.parser
        parser.start()
        if self.closed or self.transport is None or self.transport.is_closing():
            raise SendError("connect", _PROTOCOL_ERROR, "the connection was closed")
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            await waiter
        finally:
            self._waiter = None
        return parser

    def abort(self) -> None:
        """Close at once (no graceful shutdown: the exchange, if any, failed)."""
        self._close(abort=True)

    def close(self) -> None:
        """Close an idle connection gracefully (the server sees an end, not a reset)."""
        self._close(abort=False)

    def _close(self, abort: bool) -> None:
        self.closed = True
        transport = self.transport
        if transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is already closed
                transport.abort() if abort else transport.close()


class Pool:
    """Connections per origin, at most `max_connections` in all.

    Idle ones are kept last-in first-out (the warmest first) and dropped once idle longer
    than `keepalive` seconds or closed by the server. A caller that finds the pool full
    waits for a release; its own `asyncio.timeout` bounds the wait.
    """

    def __init__(
        self,
        verify: VerifyTypes,
        max_bytes: int,
        max_connections: int = MAX_CONNECTIONS,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self._verify = verify
        self._max_bytes = max_bytes
        self.max_connections = max_connections
        self.keepalive = keepalive
        self._idle: dict[Origin, list[Connection]] = {}
        self.open = 0  # connections open or being opened, idle or in use
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._ssl: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def idle(self) -> int:
        """How many connections wait in the pool."""
        return sum(len(v) for v in self._idle.values())

    async def acquire(self, origin: Origin, fresh: bool = False) -> tuple[Connection, bool]:
        """A connection to `origin`, and whether it was used before (it may be stale).

        `fresh`: a new connection, not an idle one (the retry after a stale one).
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._forget(loop)
        while True:
            idle = None if fresh else self._idle.get(origin)
            if idle:
                now = time.monotonic()
                while idle:
                    connection = idle.pop()
                    if not connection.closed and now - connection.idle_since < self.keepalive:
                        return connection, True
                    self._drop(connection)
            if self.open < self.max_connections or self._evict():
                break
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # the slot it was given goes to the next one
                else:
                    self._waiters.remove(waiter)
                raise
        self.open += 1
        try:
            connection = await self._connect(loop, origin)
        except BaseException:
            self.open -= 1
            self._wake()
            raise
        return connection, False

    def release(self, connection: Connection, reusable: bool) -> None:
        """Give `connection` back: kept when `reusable` (a complete answer), else closed."""
        if connection.loop is not self._loop:  # opened before `_forget`: not counted now
            connection.abort()
            return
        if reusable and not connection.closed and not self._closed:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(connection.origin, []).append(connection)
        else:
            connection.abort()
            self.open -= 1
        self._wake()

    async def aclose(self) -> None:
        """Close every idle connection; those in use are closed when released."""
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                self._drop(connection)
        self._idle.clear()

    async def _connect(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        try:
            _, connection = await loop.create_connection(
                lambda: Connection(origin, self._max_bytes, loop),
                host,
                port,
                ssl=context,
                server_hostname=host if context is not None else None,
            )
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise SendError("connect", "ConnectError", str(exc) or type(exc).__name__) from None
        return connection

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl_context(self._verify)
        return self._ssl

    def _evict(self) -> bool:
        """Free a slot held by an idle connection (closed, expired, else the oldest)."""
        now = time.monotonic()
        return evict(
            self._idle,
            lambda c: c.closed or now - c.idle_since >= self.keepalive,
            self._drop,
        )

    def _drop(self, connection: Connection) -> None:
        connection.close()  # idle: nothing half-read
        self.open -= 1

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        # A client used from a new event loop (rerankit.arerank's, a test's): the old
        # loop's connections cannot be used here.
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()
        self._waiters.clear()
        self.open = 0
        self._loop = loop


class LeanAsyncSender:
    """The async sender on `Pool`; other requests go to `fallback()`'s sender."""

    __slots__ = ("_fallback", "_other", "max_bytes", "pool")

    def __init__(
        self, verify: VerifyTypes, max_bytes: int, fallback: Callable[[], AsyncSender]
    ) -> None:
        self.pool = Pool(verify, max_bytes)
        self.max_bytes = max_bytes
        self._fallback = fallback
        self._other: AsyncSender | None = None

    def other(self) -> AsyncSender:
        """The sender for what this one cannot send exactly (made on first need)."""
        if self._other is None:
            self._other = self._fallback()
        return self._other

    async def send(
        self,
        request: HttpRequest,
        headers: Mapping[str, str],
        remaining: float | None,
        per_operation: Any,
    ) -> HttpResponse:
        where = target(request.url)
        if where is None or (per_operation is not None and remaining is None):
            return await self.other().send(request, headers, remaining, per_operation)
        body, headers = _body(request, headers)
        data = request_bytes(request.method, where, headers, body)
        pool = self.pool
        retried = False
        while True:
            connection, reused = await pool.acquire(where.origin, retried)
            try:
                parser = await connection.exchange(data)
                status, found, content = parser.result()
            except SendError:
                pool.release(connection, False)
                if reused and not retried and not connection.parser.received:
                    # A kept-alive connection the server had closed: once more, on a new one.
                    retried = True
                    continue
                raise
            except BaseException:  # cancelled, or the deadline: the answer is half-read
                pool.release(connection, False)
                raise
            pool.release(connection, parser.keep_alive)
            return HttpResponse(status_code=status, headers=found, content=content)

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._other is not None:
            await self._other.aclose()
