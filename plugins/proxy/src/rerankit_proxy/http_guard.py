"""The proxy's HTTP/1.1 protocol: uvicorn's httptools protocol, with limits on the head.

uvicorn bounds neither the size of a request's head nor how long a client may take to
send it: httptools concatenates a header value chunk by chunk, so a 128 MB header from
a client with no key cost 20 s of CPU, and a client that sends half a request line holds
its connection forever. `GuardedHttpToolsProtocol` adds, per connection:

- a head size limit: bytes are held back from the parser until the blank line that ends
  the head, and a head longer than `max_header_bytes`, or with more than `max_headers`
  lines, is answered 431 and closed without being parsed (buffering also keeps the
  parser's cost linear when a head trickles in);
- a head timeout: a connection that has not sent a complete head `header_timeout`
  seconds after it opened (or after the first byte of a later request on it) is answered
  408 and closed (closed silently when it sent nothing at all);
- a cap on open connections per process: over `max_connections` a new connection is
  answered 503 and closed at once, so its file descriptor is freed (Envoy's global
  connection limit behaves the same way), with a warning, at most one every 10 s.

The body timeout is the app's (`ProxyApp.read_body`), so it is answered and logged
like any other error. This module is the proxy's only reach into uvicorn's internals:
it overrides `HttpToolsProtocol`'s asyncio callbacks and three httptools parser
callbacks. The `proxy` extra pins uvicorn's version range, and
tests/proxy/test_http_hardening.py fails if the seam moves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from .asgi import BODY_RECEIVED, error_body
from .metrics import HTTP_REFUSED
from .server_settings import ServerSettings

__all__ = ["GuardedHttpToolsProtocol", "configure", "REFUSED"]

logger = logging.getLogger("rerankit.proxy")

_END_OF_HEAD = b"\r\n\r\n"
#: Seconds between two warnings about refused connections.
_REFUSAL_LOG_INTERVAL = 10.0
#: After a 431, what is still read and dropped before closing, so that the client reads
#: the answer rather than a reset (nginx's lingering close, much shorter).
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024


#: The refusals counter (`metrics.HTTP_REFUSED`).
REFUSED = HTTP_REFUSED


def configure(settings: ServerSettings) -> None:
    """Use `settings` for the connections this process accepts from now on."""
    GuardedHttpToolsProtocol.settings = settings


def _response(status: int, type: str, code: str, message: str, extra: bytes = b"") -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection."""
    body = error_body(message, type, code)
    return b"".join(
        [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode(),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            extra,
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class _Refusals:
    """Counts connections refused over the cap; says so in the log, not too often."""

    def __init__(self) -> None:
        self.count = 0
        self.logged_at = -_REFUSAL_LOG_INTERVAL

    def refused(self, open_connections: int, limit: int) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged_at >= _REFUSAL_LOG_INTERVAL:
            logger.warning(
                "connection limit reached: %d connections open (server_settings."
                "max_connections = %d); refused %d new connection(s) with 503 since the last "
                "such line. Raise max_connections or add workers if this is legitimate load.",
                open_connections,
                limit,
                self.count,
            )
            self.logged_at = now
            self.count = 0


_refusals = _Refusals()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit, a head timeout and a connection cap."""

    #: Set once per process by `configure`, before the server accepts connections.
    settings: ClassVar[ServerSettings] = ServerSettings()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        #: Bytes of the current head not yet given to the parser.
        self._head = bytearray()
        #: Bytes of the current head already given to the parser.
        self._head_fed = 0
        self._awaiting_head = True
        #: Whether the parser is inside a request (has seen the start of its head).
        self._in_message = False
        #: Heads completed on this connection.
        self._heads = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        #: Bytes still to drop after a 431 before closing (None: not lingering).
        self._linger: int | None = None

    # -- asyncio callbacks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limit = self.settings.max_connections
        if len(self.connections) >= limit:
            self._refused = True
            transport.write(
                _response(
                    503,
                    "overloaded",
                    "too_many_connections",
                    "The proxy has too many open connections; retry shortly.",
                    b"retry-after: 1\r\n",
                )
            )
            transport.close()
            REFUSED.inc((("reason", "too_many_connections"),))
            _refusals.refused(len(self.connections), limit)
            return
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:  # never counted among the server's connections
            return
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_head:
            if self._linger is None:
                super().data_received(data)
            else:
                self._drop(len(data))
            return
        if self._in_message:
            # The parser already holds the start of this head (it came in the same read
            # as the end of the previous request): feed it, counted, up to the limit.
            self._feed_counted(data)
            return
        room = self.settings.max_header_bytes - self._head_fed
        if self._head:
            start = max(0, len(self._head) - len(_END_OF_HEAD) + 1)
            self._head += data
            end = self._head.find(_END_OF_HEAD, start, room)
            size = len(self._head)
        else:
            end = data.find(_END_OF_HEAD, 0, room)
            size = len(data)
        if end == -1:
            if size > room:
                self._stop_head(431)
                return
            if not self._head:
                self._head += data
            # The parser has not seen these bytes: the head timer, not uvicorn's
            # keep-alive timer, decides how long they may take (armed at the first byte).
            self._unset_keepalive_if_required()
            if self._head_timer is None:
                self._arm_head_timer()
            return
        if self._head:
            data = bytes(self._head)
            self._head.clear()
        # Line ends before the blank line: the request line's and each field's but the last.
        if data.count(b"\r\n", 0, end) > self.settings.max_headers:
            self._stop_head(431, too_many=True)
            return
        # What follows the blank line is the body, or (blank lines before a request line)
        # more of this head: the parser's state, checked on the next read, tells.
        self._head_fed += end + len(_END_OF_HEAD)
        super().data_received(data)
        if self._awaiting_head and self._in_message and self._head_timer is None:
            self._arm_head_timer()  # the parser holds part of a head: time it

    def _feed_counted(self, data: bytes) -> None:
        """Feed a head the parser has begun: what fits under the limit, the rest once the
        head is complete; 431 when it is not complete by then."""
        room = self.settings.max_header_bytes - self._head_fed
        heads = self._heads
        self._head_fed += min(len(data), room)
        super().data_received(data[:room] if len(data) > room else data)
        if len(data) <= room:
            if self._awaiting_head and self._in_message and self._head_timer is None:
                self._arm_head_timer()
        elif self._heads == heads:
            self._stop_head(431)
        else:
            self.data_received(data[room:])

    # -- httptools callbacks ----------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_message = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_fed = 0
        self._heads += 1
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and not cycle.response_complete:
            # The body is whole before (or while) the app reads it: read_body need not
            # time its arrival.
            self.scope[BODY_RECEIVED] = True  # type: ignore[literal-required]
        super().on_message_complete()
        self._awaiting_head = True
        self._in_message = False

    # -- the head's limits ------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.settings.header_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self._awaiting_head or self.transport.is_closing():
            return
        if self._head or self._head_fed:
            self._stop_head(408)
        else:  # nothing sent: an idle connection, closed without an answer
            REFUSED.inc((("reason", "idle_timeout"),))
            self._finish(None)

    def _stop_head(self, status: int, *, too_many: bool = False) -> None:
        """Refuse the head being read: answer `status` and close the connection."""
        self._awaiting_head = False
        self._head = bytearray()
        self._cancel_head_timer()
        settings = self.settings
        if too_many:
            logger.warning(
                "refused a request with over %d header fields with 431 "
                "(server_settings.max_headers)",
                settings.max_headers,
            )
            REFUSED.inc((("reason", "too_many_headers"),))
            answer = _response(
                431,
                "request_too_large",
                "too_many_headers",
                f"The request has more than {settings.max_headers} header fields.",
            )
        elif status == 431:
            logger.warning(
                "refused a request head over %d bytes with 431 (server_settings.max_header_bytes)",
                settings.max_header_bytes,
            )
            REFUSED.inc((("reason", "headers_too_large"),))
            answer = _response(
                431,
                "request_too_large",
                "headers_too_large",
                f"The request line and headers exceed {settings.max_header_bytes} bytes.",
            )
        else:
            logger.info(
                "closed a connection whose request head was not complete after %g s with 408 "
                "(server_settings.header_timeout)",
                settings.header_timeout,
            )
            REFUSED.inc((("reason", "header_timeout"),))
            answer = _response(
                408,
                "timeout",
                "header_timeout",
                f"The request headers took longer than {settings.header_timeout:g} s.",
            )
        self._finish(answer)

    def _finish(self, answer: bytes | None) -> None:
        """Write `answer` (if any) and close, or close after the answer being made."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # A pipelined head while the previous answer is still being made: that answer
            # goes out, then the connection closes; nothing more is read meanwhile.
            cycle.keep_alive = False
            self.transport.pause_reading()
            return
        if answer is None:
            self.transport.close()
            return
        self.transport.write(answer)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        # Half-close, then drop what the client is still sending for a moment: closing
        # with unread bytes would reset the connection and lose the answer on the way.
        self.transport.write_eof()
        self._linger = _LINGER_BYTES
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)

    def _drop(self, size: int) -> None:
        assert self._linger is not None
        self._linger -= size
        if self._linger < 0:
            self.transport.close()
