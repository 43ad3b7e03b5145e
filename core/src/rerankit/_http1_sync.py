"""The lean HTTP/1.1 client over blocking sockets: the sync client's default sender.

The same request bytes, parser and limits as the async one (`_http1`); here every socket
operation (connect, TLS handshake, write, each read) gets as its timeout what is left
until the call's deadline, so a hang or a slow drip ends at the deadline, not one read
timeout after it, and the client's `check` runs between the pieces of an answer (the
deadline, a chunk cancelled by another chunk's failure).

The pool is `_http1.Pool`'s rules with a lock (the sync client sends a large call's
chunks from threads): per-origin LIFO idle lists, at most `MAX_CONNECTIONS`, idle ones
dropped after `KEEPALIVE_SECONDS`, and, before one is reused, a zero-timeout readability
check: an idle socket that reads as ready has been closed by the server (or sent bytes
nobody asked for), and is dropped rather than written to.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ._http1 import (
    KEEPALIVE_SECONDS,
    MAX_CONNECTIONS,
    Origin,
    ResponseParser,
    evict,
    request_bytes,
    ssl_context,
    target,
)
from ._senders import Sender, SendError, VerifyTypes, _body
from .wire import HttpRequest, HttpResponse

__all__ = ["LeanSender", "SyncPool"]

#: Largest read at once: a rerank answer for a few hundred documents arrives in one.
_READ = 256 * 1024
#: How long a chunk that others may cancel blocks in one read before it checks.
_INTERRUPT_EVERY = 0.1


class _Connection:
    """One keep-alive socket and the parser of its answers."""

    __slots__ = ("idle_since", "origin", "parser", "sock")

    def __init__(self, origin: Origin, sock: socket.socket, max_bytes: int) -> None:
        self.origin = origin
        self.sock = sock
        self.parser = ResponseParser(max_bytes)
        self.idle_since = 0.0

    def usable(self, now: float, keepalive: float) -> bool:
        """Idle for less than `keepalive`, and not closed by the server meanwhile."""
        if now - self.idle_since >= keepalive:
            return False
        # poll, not select: select cannot watch a descriptor numbered 1024 or above.
        poller = select.poll()
        try:
            poller.register(self.sock, select.POLLIN)
        except (OSError, ValueError):  # closed under us
            return False
        return not poller.poll(0)  # EOF or stray bytes: either way, not for a new request

    def close(self) -> None:
        self.sock.close()


def _left(deadline_at: float | None) -> float | None:
    if deadline_at is None:
        return None
    left = deadline_at - time.monotonic()
    if left <= 0:
        raise SendError("timeout", "ReadTimeout", "the call's deadline passed")
    return left


class SyncPool:
    """Connections per origin for threads; the deadline bounds a wait for a free slot."""

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
        self._idle: dict[Origin, list[_Connection]] = {}
        self.open = 0
        self._slot = threading.Condition(threading.Lock())
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    def idle(self) -> int:
        """How many connections wait in the pool."""
        with self._slot:
            return sum(len(v) for v in self._idle.values())

    def acquire(
        self, origin: Origin, deadline_at: float | None, fresh: bool = False
    ) -> tuple[_Connection, bool]:
        """A connection to `origin`, and whether it was used before (it may be stale).

        `fresh`: a new connection, not an idle one (the retry after a stale one).
        """
        with self._slot:
            while True:
                idle = None if fresh else self._idle.get(origin)
                now = time.monotonic()
                while idle:
                    connection = idle.pop()
                    if connection.usable(now, self.keepalive):
                        return connection, True
                    self._drop(connection)
                if self.open < self.max_connections or self._evict(now):
                    break
                self._slot.wait(_left(deadline_at))  # a timeout error once it has passed
            self.open += 1
        try:
            return self._connect(origin, deadline_at), False
        except BaseException:
            with self._slot:
                self.open -= 1
                self._slot.notify()
            raise

    def release(self, connection: _Connection, reusable: bool) -> None:
        """Give `connection` back: kept when `reusable` (a complete answer), else closed."""
        with self._slot:
            if reusable and not self._closed:
                connection.idle_since = time.monotonic()
                self._idle.setdefault(connection.origin, []).append(connection)
            else:
                connection.close()
                self.open -= 1
            self._slot.notify()

    def close(self) -> None:
        """Close every idle connection; those in use are closed when released."""
        with self._slot:
            self._closed = True
            for connections in self._idle.values():
                for connection in connections:
                    self._drop(connection)
            self._idle.clear()

    def _connect(self, origin: Origin, deadline_at: float | None) -> _Connection:
        scheme, host, port = origin
        try:
            sock = socket.create_connection((host, port), timeout=_left(deadline_at))
        except TimeoutError as exc:
            raise SendError("timeout", "ConnectTimeout", str(exc) or "timed out") from None
        except OSError as exc:
            raise SendError("connect", "ConnectError", str(exc) or type(exc).__name__) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock.settimeout(_left(deadline_at))
                sock = self._ssl_context().wrap_socket(sock, server_hostname=host)
        except TimeoutError as exc:
            sock.close()
            raise SendError("timeout", "ConnectTimeout", str(exc) or "timed out") from None
        except OSError as exc:  # the TLS handshake (ssl.SSLError is an OSError)
            sock.close()
            raise SendError("connect", "ConnectError", str(exc) or type(exc).__name__) from None
        except BaseException:
            sock.close()
            raise
        return _Connection(origin, sock, self._max_bytes)

    def _ssl_context(self) -> ssl.SSLContext:
        with self._slot:
            if self._ssl is None:
                self._ssl = ssl_context(self._verify)
            return self._ssl

    def _evict(self, now: float) -> bool:
        """Free a slot held by an idle connection (unusable ones, else the oldest)."""
        return evict(self._idle, lambda c: not c.usable(now, self.keepalive), self._drop)

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self.open -= 1


class LeanSender:
    """The sync sender on `SyncPool`; other requests go to `fallback()`'s sender."""

    __slots__ = ("_fallback", "_lock", "_other", "max_bytes", "pool")

    def __init__(self, verify: VerifyTypes, max_bytes: int, fallback: Callable[[], Sender]) -> None:
        self.pool = SyncPool(verify, max_bytes)
        self.max_bytes = max_bytes
        self._fallback = fallback
        self._other: Sender | None = None
        self._lock = threading.Lock()

    def other(self) -> Sender:
        """The sender for what this one cannot send exactly (made on first need)."""
        with self._lock:
            if self._other is None:
                self._other = self._fallback()
            return self._other

    def send(
        self,
        request: HttpRequest,
        headers: Mapping[str, str],
        remaining: float | None,
        per_operation: Any,
        deadline_at: float | None,
        check: Callable[[], None],
        interruptible: bool,
    ) -> HttpResponse:
        where = target(request.url)
        if where is None or (per_operation is not None and remaining is None):
            return self.other().send(
                request, headers, remaining, per_operation, deadline_at, check, interruptible
            )
        body, headers = _body(request, headers)
        data = request_bytes(request.method, where, headers, body)
        pool = self.pool
        retried = False
        while True:
            connection, reused = pool.acquire(where.origin, deadline_at, retried)
            try:
                parser = _exchange(connection, data, deadline_at, check, interruptible)
                status, found, content = parser.result()
            except SendError:
                pool.release(connection, False)
                if reused and not retried and not connection.parser.received:
                    retried = True  # a kept-alive connection the server had closed
                    continue
                raise
            except BaseException:  # the deadline's error, a cancelled chunk: half-read
                pool.release(connection, False)
                raise
            pool.release(connection, parser.keep_alive)
            return HttpResponse(status_code=status, headers=found, content=content)

    def close(self) -> None:
        self.pool.close()
        if self._other is not None:
            self._other.close()


def _exchange(
    connection: _Connection,
    data: bytes,
    deadline_at: float | None,
    check: Callable[[], None],
    interruptible: bool,
) -> ResponseParser:
    """Write `data`, read the whole answer; every socket operation ends by `deadline_at`."""
    sock = connection.sock
    parser = connection.parser
    parser.start()
    try:
        sock.settimeout(_left(deadline_at))
        sock.sendall(data)
        while True:
            left = _left(deadline_at)
            if interruptible:  # another chunk may fail and cancel this one: look now and then
                left = _INTERRUPT_EVERY if left is None else min(left, _INTERRUPT_EVERY)
            sock.settimeout(left)
            try:
                piece = sock.recv(_READ)
            except TimeoutError:
                if not interruptible:
                    raise
                check()  # raises if the deadline passed or the chunk was cancelled
                continue
            if not piece:
                parser.eof()
                return parser
            parser.feed(piece)
            if parser.done:
                return parser
            check()
    except TimeoutError as exc:
        raise SendError("timeout", "ReadTimeout", str(exc) or "timed out") from None
    except OSError as exc:  # reset, broken pipe, TLS failure mid-answer
        raise SendError("connect", "ReadError", str(exc) or type(exc).__name__) from None
