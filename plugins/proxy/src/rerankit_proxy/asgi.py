"""The proxy's HTTP primitives, below every handler: the exchange, routes, replies, the
one error shape, and reading a request body within its limits.

Every error is `{"error": {"message", "type", "code"}}` with a fitting status; `ApiError`
carries one from wherever it is raised to the ASGI app, which writes it. Nothing here
knows about rerank calls, keys or upstreams: `app` (dispatch, auth) and `endpoints` (the
handlers) build on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from .auth import Caller

__all__ = [
    "Scope",
    "Message",
    "Receive",
    "Send",
    "JSON",
    "Exchange",
    "Reply",
    "Handler",
    "Route",
    "ApiError",
    "dumps",
    "error_body",
    "json_reply",
    "read_body",
    "loggable_path",
    "has_body",
    "BODY_RECEIVED",
    "rate_limited",
]

logger = logging.getLogger("rerankit.proxy")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
#: A scope key the proxy's HTTP protocol (`http_guard`) sets when the whole request body
#: was read before the app ran (the common case: one small body in the head's read), so
#: that `read_body` takes it without arming its timeout.
BODY_RECEIVED = "rerankit.body_received"

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON.

    orjson writes it (about ten times faster than the standard library's encoder, which
    was a twentieth of the proxy's CPU per answer); what orjson refuses (an integer
    beyond 64 bits echoed from a caller's document, a key that is not a string, a lone
    surrogate) is written by the standard library as before, or fails as before. Every
    float written is finite: scores and usage are checked by rerankit's client, a
    caller's numbers by `protocol.load_json` (orjson would write NaN as null).
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        return _encoder.encode(value).encode()


class ApiError(Exception):
    """An error answer: HTTP status, error type, machine-readable code and a message."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        code: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.code = code or type
        self.message = message
        self.headers = headers or []
        super().__init__(message)

    def body(self) -> bytes:
        """The JSON error body."""
        return error_body(self.message, self.type, self.code)


def rate_limited(message: str, code: str, wait: float) -> ApiError:
    """A 429 telling the caller to come back after `wait` seconds (`Retry-After`, whole
    seconds, at least 1)."""
    return ApiError(
        429,
        "rate_limit_error",
        message,
        code=code,
        headers=[(b"retry-after", str(max(1, round(wait + 0.5))).encode())],
    )


def error_body(message: str, type: str, code: str) -> bytes:
    """`{"error": {"message", "type", "code"}}` as bytes."""
    return dumps({"error": {"message": message, "type": type, "code": code}})


@dataclass(slots=True)
class Exchange:
    """One request in flight: what it asked, who asked, and what it will answer."""

    scope: Scope
    receive: Receive
    route: str
    caller: Caller | None = None
    model: str = "-"
    deployment: str | None = None
    status: int = 200
    error_type: str | None = None
    #: Whether the whole request body was read (else the answer closes the connection).
    body_read: bool = False
    #: Tokens the provider reported for this call, counted against the key's `tpm`.
    tokens: int | None = None

    def header(self, name: bytes) -> bytes | None:
        """A request header's value (names are lower-case in ASGI)."""
        for key, value in self.scope["headers"]:
            if key == name:
                return bytes(value)
        return None


#: status, body, extra headers (a first `content-type` replaces the JSON default).
Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]
#: A route's handler: called with the application and the exchange. The application is
#: typed loosely here so this module stays below `app` (no import cycle).
Handler = Callable[[Any, Exchange], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    """A path: its name (a metrics label), method, handler and who may call it."""

    name: str
    method: str
    handler: Handler
    #: "public": no key; "key": any key; "master": the master key only.
    access: str = "key"
    #: For the OpenAPI document: a one-line summary, the request body's schema (a
    #: component name, None for no body) and the answer's ("text" for plain text).
    summary: str = ""
    request: str | None = None
    answer: str = "Object"


def json_reply(value: Any, status: int = 200) -> Reply:
    """A JSON answer."""
    return status, dumps(value), []


async def read_body(exchange: Exchange, limit: int, seconds: float) -> bytes:
    """The request body, refusing more than `limit` bytes (413) and a body that takes
    longer than `seconds` to arrive (408)."""
    declared = exchange.header(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    if exchange.scope.get(BODY_RECEIVED):  # in memory already: nothing to time
        body = await _receive_body(exchange, limit)
        exchange.body_read = True
        return body
    try:
        async with asyncio.timeout(seconds):
            body = await _receive_body(exchange, limit)
    except TimeoutError:
        logger.info(
            "answered %s 408: the body took longer than %g s (server_settings.body_timeout)",
            loggable_path(exchange.scope),
            seconds,
        )
        raise ApiError(
            408,
            "timeout",
            f"The request body took longer than the proxy's limit of {seconds:g} s.",
            code="body_timeout",
        ) from None
    exchange.body_read = True
    return body


async def _receive_body(exchange: Exchange, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await exchange.receive()
        if message["type"] == "http.disconnect":
            raise ApiError(499, "client_closed", "The client went away.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def loggable_path(scope: Scope) -> str:
    """The path as sent (still %-encoded, so a caller cannot forge log lines), cut short."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else scope["path"]
    return (path if path.isprintable() else path.encode("unicode_escape").decode())[:200]


def has_body(scope: Scope) -> bool:
    """Whether the request announced a body (a non-zero length, or chunks)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b" 0")):
            return True
    return False


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        "request_too_large",
        f"The body has {size} bytes; the limit is {limit}. Send fewer or shorter documents.",
        code="body_too_large",
    )
