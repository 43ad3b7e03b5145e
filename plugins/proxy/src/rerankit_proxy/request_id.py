"""`x-request-id`: one id per request, on its answer, in its log lines and upstream calls.

The caller's id is kept when it is a sane one (1 to `MAX_LENGTH` characters of
`[A-Za-z0-9._:@/+=-]`); anything else (too long, spaces, control characters, several
`x-request-id` headers that disagree) is replaced by a new id, so a caller can neither
forge log lines nor make the proxy store or forward unbounded text. The id is:

- returned in the `x-request-id` header of every answer, errors and CORS preflights
  included (`RequestIdMiddleware`, the outermost layer of the ASGI stack);
- current in `REQUEST_ID` (a context variable) while the request is served, so every log
  line of the request carries it (`logs.py` reads it);
- sent upstream on every attempt (retries, chunks and fallbacks included) by
  `RequestIdHeader`, a rerankit life-cycle plugin whose `rerank_attempt_started` adds it to
  `attempt.headers`.

New ids are a random per-process prefix and a counter (no system call per request, unlike
`uuid4`), unique across processes and restarts for all practical purposes.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from rerankit import hookimpl
from rerankit.lifecycle import AttemptContext

from .asgi import Message, Receive, Scope, Send

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = [
    "REQUEST_ID",
    "HEADER",
    "MAX_LENGTH",
    "RequestIdHeader",
    "RequestIdMiddleware",
    "accepted_id",
    "new_request_id",
]

#: The id of the request being served in this context; None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("rerankit_proxy_request_id", default=None)
HEADER = b"x-request-id"
#: Longest caller id kept (Envoy keeps any, nginx's $request_id is 32 hex digits; 128 fits
#: UUIDs, ULIDs and trace-style ids with room to spare).
MAX_LENGTH = 128
_SANE = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,%d}" % MAX_LENGTH)


def accepted_id(value: bytes) -> str | None:
    """The caller's id when it is sane (length and characters), else None."""
    if _SANE.fullmatch(value) is None:
        return None
    return value.decode("ascii")


class _Ids:
    """New ids: a random prefix per process, then a counter."""

    def __init__(self) -> None:
        self.reseed()
        # A forked child must not repeat its parent's ids.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):08x}"


_ids = _Ids()


def new_request_id() -> str:
    """A new request id: 16 random hex digits of this process, then a hex counter."""
    return _ids.next()


class RequestIdMiddleware:
    """ASGI middleware: picks the request's id, makes it current, adds it to the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == HEADER:
                given = accepted_id(value)
                if request_id is not None and given != request_id:
                    request_id = None  # two different ids: trust neither
                    break
                request_id = given
                if given is None:
                    break
        if request_id is None:
            request_id = new_request_id()
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class RequestIdHeader:
    """Life-cycle plugin: every upstream attempt made while serving a request carries its id.

    Registered for the whole proxy process (`rerankit.plugins.register_plugin`); outside a
    request (`REQUEST_ID` unset) it adds nothing.
    """

    @hookimpl
    def rerank_attempt_started(self, attempt: AttemptContext) -> None:
        """Add `x-request-id` to the attempt's headers."""
        request_id = REQUEST_ID.get()
        if request_id is not None:
            attempt.headers["x-request-id"] = request_id
