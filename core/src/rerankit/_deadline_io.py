"""Socket operations that never outlast the call's deadline (sync client only).

httpx's timeouts apply to each socket operation on its own: an upstream that sends a few
bytes and then stalls gets a full read timeout after each byte. The sync client cannot
wrap a call in `asyncio.timeout`, so it sets the call's deadline in a context variable and
its connection pool uses a network backend that shrinks every connect, read, write and
TLS handshake timeout to the time left. A stalled socket then fails at the deadline, not
one read timeout after it.

The backend is installed only on connection pools rerankit creates itself (not on an
`http_client=` or `transport=` the caller passes). It relies on httpcore's pluggable
network backend; when httpcore's layout differs, `install` does nothing and the client
falls back to checking the deadline between the pieces of the answer it reads.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing

import httpcore
import httpx

__all__ = ["deadline_scope", "install"]

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "rerankit_deadline", default=None
)

#: The smallest socket timeout we hand out: "already expired" must still raise a timeout.
_EXPIRED = 1e-6


class deadline_scope:  # lower case: used like the context-manager function it replaced
    """Cap the socket operations in this context (this thread) at monotonic time `at`.

    A class, not `@contextmanager`: the generator machinery cost more than the scope.
    """

    __slots__ = ("_at", "_token")

    def __init__(self, at: float | None) -> None:
        self._at = at

    def __enter__(self) -> None:
        self._token = _deadline.set(self._at)

    def __exit__(self, *exc_info: object) -> None:
        _deadline.reset(self._token)


def _capped(timeout: float | None) -> float | None:
    at = _deadline.get()
    if at is None:
        return timeout
    left = max(at - time.monotonic(), _EXPIRED)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _capped(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _capped(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _capped(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _capped(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, _capped(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(transport: httpx.HTTPTransport) -> bool:
    """Give `transport`'s connection pool the deadline-capped backend; True if it worked."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        return False
    pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return True
