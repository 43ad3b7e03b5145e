"""The I/O seam: the clients hand a `wire.HttpRequest` to a sender and get an `HttpResponse`.

A sender owns one HTTP library's types; the clients own retries, deadlines, chunks and
life-cycle hooks and never see httpx or aiohttp. Three implementations:

- `HttpxSender`: sync, on an `httpx.Client`; streams the answer and calls the client's
  `check` between its pieces (deadline, a cancelled chunk).
- `HttpxAsyncSender`: async, on an `httpx.AsyncClient`.
- `AiohttpSender`: async, on `_transport.AiohttpClient`: straight to the aiohttp session
  (no `httpx.Request`/`Response` built); with per-operation httpx timeouts it takes the
  httpx path of the same client.

By default both clients send through rerankit's own HTTP/1.1 client instead
(`_http1.LeanAsyncSender`, `_http1_sync.LeanSender`; `_transport` says when), which hands
what it cannot send exactly to one of these.

Every one sends `HttpRequest.content` verbatim when set (a signed body), else `json`
encoded once by `_json.encode` (orjson when installed) and sent as bytes; reads
the body through `_body` within `max_bytes`; and raises `SendError`, a typed failure that
`_base_client.transport_error` turns into a rerankit error, for an answer that did not
come (timeout, connection, undecodable, too large).

The clients rerankit builds honour the same environment and options on every transport:
`HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, `SSL_CERT_FILE`/`SSL_CERT_DIR`, and the
`proxy=`/`verify=` client options (which win over the environment).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Protocol

import httpx

from ._body import ACCEPT_ENCODING, BodyReader, ResponseTooLarge, read_content
from ._deadline_io import deadline_scope
from ._deadline_io import install as install_deadline
from ._json import encode
from .errors import InvalidParameterError
from .wire import HttpRequest, HttpResponse

__all__ = [
    "SendError",
    "Sender",
    "AsyncSender",
    "HttpxSender",
    "HttpxAsyncSender",
    "AiohttpSender",
    "TimeoutTypes",
    "VerifyTypes",
    "check_timeout",
    "check_proxy",
    "check_verify",
    "is_per_operation",
    "sync_http_client",
    "async_sender",
    "merged_headers",
]

TimeoutTypes = float | httpx.Timeout | None
#: True (the system's or `SSL_CERT_FILE`/`SSL_CERT_DIR`'s CAs), False, a CA bundle path, or
#: an `ssl.SSLContext`.
VerifyTypes = bool | str | ssl.SSLContext

#: Only what `BodyReader` decodes (httpx would add br and zstd when their packages are
#: installed).
DEFAULT_HEADERS = {"accept-encoding": ACCEPT_ENCODING}

Kind = Literal["timeout", "connect", "decode", "too_large"]


class SendError(Exception):
    """No complete answer: `kind` says why, `name` is the underlying error's type name.

    For `too_large`, `limit` is the byte limit and `declared` the Content-Length, if any.
    """

    def __init__(
        self, kind: Kind, name: str, detail: str, limit: int = 0, declared: int | None = None
    ) -> None:
        super().__init__(detail)
        self.kind: Kind = kind
        self.name = name
        self.limit = limit
        self.declared = declared


def _send_error(exc: httpx.HTTPError) -> SendError:
    name = type(exc).__name__
    if isinstance(exc, ResponseTooLarge):
        return SendError("too_large", name, str(exc), exc.limit, exc.declared)
    if isinstance(exc, httpx.TimeoutException):
        return SendError("timeout", name, str(exc))
    if isinstance(exc, httpx.DecodingError):
        return SendError("decode", name, str(exc))
    return SendError("connect", name, str(exc))


class Sender(Protocol):
    """What the sync client sends through."""

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
        """Send; `check` runs between the pieces of the answer (it may raise).

        A sender whose sockets end at `deadline_at` may read a plain answer in one go,
        unless `interruptible` (another chunk may cancel this one).
        """
        ...

    def close(self) -> None:
        """Close the connection pool."""
        ...


class AsyncSender(Protocol):
    """What the async client sends through."""

    async def send(
        self,
        request: HttpRequest,
        headers: Mapping[str, str],
        remaining: float | None,
        per_operation: Any,
    ) -> HttpResponse:
        """Send; the caller's `asyncio.timeout` bounds the whole exchange."""
        ...

    async def aclose(self) -> None:
        """Close the connection pool."""
        ...


def _timeout(remaining: float | None, per_operation: Any) -> Any:
    """httpx's per-operation timeouts: what is left of the call, else the caller's own."""
    return per_operation if remaining is None else httpx.Timeout(max(remaining, 0.001))


def _body(
    request: HttpRequest, headers: Mapping[str, str]
) -> tuple[bytes | None, Mapping[str, str]]:
    """The bytes to send and the headers to send them with.

    A JSON body is encoded here, once, rather than by the HTTP library (which would take
    the standard library's slower encoder); its content type is added unless the
    provider set one, as httpx's and aiohttp's `json=` do.
    """
    content = request.content
    if content is not None or request.json is None:
        return content, headers
    content = encode(request.json)
    for name in headers:
        if name.lower() == "content-type":
            return content, headers
    return content, {**headers, "content-type": "application/json"}


def _build(
    client: httpx.Client | httpx.AsyncClient,
    request: HttpRequest,
    headers: Mapping[str, str],
    remaining: float | None,
    per_operation: Any,
) -> httpx.Request:
    """The httpx request to send: its body encoded once (`_body`), its timeout capped."""
    content, headers = _body(request, headers)
    return client.build_request(
        request.method,
        request.url,
        headers=headers,
        content=content,
        timeout=_timeout(remaining, per_operation),
    )


def merged_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Raw header pairs as httpx's `Headers.items()` gives them: names lower-cased,
    values UTF-8 (latin-1 when not), repeats joined by ", ". What every sender returns."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name = raw_name.decode("latin-1").lower()
        try:
            value = raw_value.decode()
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        previous = merged.get(name)
        merged[name] = value if previous is None else f"{previous}, {value}"
    return merged


def _wire(status: int, headers: httpx.Headers, content: bytes) -> HttpResponse:
    # httpx's `items()` already gives lower-cased names, repeats joined by ", ".
    return HttpResponse(status_code=status, headers=dict(headers.items()), content=content)


class HttpxSender:
    """The sync sender on an `httpx.Client`."""

    __slots__ = ("client", "max_bytes", "sockets_capped")

    def __init__(self, client: httpx.Client, max_bytes: int, sockets_capped: bool) -> None:
        self.client = client
        self.max_bytes = max_bytes
        #: True when every socket operation of the pool already ends at the deadline.
        self.sockets_capped = sockets_capped

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
        client = self.client
        built = _build(client, request, headers, remaining, per_operation)
        try:
            with deadline_scope(deadline_at):
                response = client.send(built, stream=True)
                try:
                    content = self._read(response, check, interruptible)
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            raise _send_error(exc) from None
        return _wire(response.status_code, response.headers, content)

    def _read(
        self, response: httpx.Response, check: Callable[[], None], interruptible: bool
    ) -> bytes:
        """The body, decoded within `max_bytes`.

        Read piece by piece (raw, decoded by `BodyReader`) unless it is plain, of a
        declared length within the limit, and every socket read already ends at the
        deadline; piece by piece a slow drip cannot outlast the deadline either.
        """
        if response.is_stream_consumed:  # an in-process transport answered with bytes
            return read_content(response.content, self.max_bytes)
        found = response.headers
        reader = BodyReader.open(
            self.max_bytes, found.get("content-length"), found.get("content-encoding")
        )
        if reader is None:
            if self.sockets_capped and not interruptible:
                return response.read()
            reader = BodyReader(self.max_bytes, [])
        for piece in response.iter_raw():
            reader.feed(piece)
            check()
        return reader.finish()

    def close(self) -> None:
        self.client.close()


class HttpxAsyncSender:
    """The async sender on an `httpx.AsyncClient`."""

    __slots__ = ("client", "max_bytes")

    def __init__(self, client: httpx.AsyncClient, max_bytes: int) -> None:
        self.client = client
        self.max_bytes = max_bytes

    async def send(
        self,
        request: HttpRequest,
        headers: Mapping[str, str],
        remaining: float | None,
        per_operation: Any,
    ) -> HttpResponse:
        client = self.client
        built = _build(client, request, headers, remaining, per_operation)
        try:
            response = await client.send(built, stream=True)
            try:
                content = await self._read(response)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise _send_error(exc) from None
        return _wire(response.status_code, response.headers, content)

    async def _read(self, response: httpx.Response) -> bytes:
        """The body, decoded within `max_bytes` (as `HttpxSender._read`)."""
        if response.is_stream_consumed:  # an in-process transport answered with bytes
            return read_content(response.content, self.max_bytes)
        found = response.headers
        reader = BodyReader.open(
            self.max_bytes, found.get("content-length"), found.get("content-encoding")
        )
        if reader is None:
            return await response.aread()
        async for piece in response.aiter_raw():
            reader.feed(piece)
        return reader.finish()

    async def aclose(self) -> None:
        await self.client.aclose()


class AiohttpSender(HttpxAsyncSender):
    """The async sender on an aiohttp-backed client: no httpx objects on the short path."""

    __slots__ = ()

    async def send(
        self,
        request: HttpRequest,
        headers: Mapping[str, str],
        remaining: float | None,
        per_operation: Any,
    ) -> HttpResponse:
        if per_operation is not None and remaining is None:
            # Per-operation httpx timeouts: httpx's path of the same aiohttp session.
            return await super().send(request, headers, remaining, per_operation)
        client: Any = self.client  # an `_transport.AiohttpClient`
        body, headers = _body(request, headers)
        try:
            # No per-operation timeouts: the client's `asyncio.timeout` already ends the
            # exchange at the call's deadline, and aiohttp's own would only add a timer per
            # request and per piece read that never fires first.
            status, found, content = await client.send_json(
                request.method,
                request.url,
                None,
                headers,
                None,
                self.max_bytes,
                content=body,
            )
        except httpx.HTTPError as exc:
            raise _send_error(exc) from None
        return HttpResponse(status_code=status, headers=found, content=content)


def async_sender(client: httpx.AsyncClient, max_bytes: int) -> HttpxAsyncSender:
    """The sender for `client`: the aiohttp short path when it is aiohttp-backed."""
    from ._transport import AiohttpClient

    if isinstance(client, AiohttpClient):
        return AiohttpSender(client, max_bytes)
    return HttpxAsyncSender(client, max_bytes)


def sync_http_client(
    timeout: TimeoutTypes, proxy: str | None, verify: VerifyTypes
) -> tuple[httpx.Client, bool]:
    """The sync client's own pool, and whether its sockets end at the call's deadline.

    httpx builds the transports (so `HTTP(S)_PROXY`/`NO_PROXY` and `SSL_CERT_FILE`/
    `SSL_CERT_DIR` apply as they do for any httpx client: an explicitly passed transport
    would turn the environment's proxies off); each gets the deadline-capped backend.
    """
    client = httpx.Client(
        timeout=timeout, headers=DEFAULT_HEADERS, proxy=proxy, verify=verify, trust_env=True
    )
    # httpx keeps the direct transport and one per proxy rule; cap every one of them.
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    capped = [install_deadline(t) for t in transports if isinstance(t, httpx.HTTPTransport)]
    return client, bool(capped) and all(capped)


def check_timeout(value: object) -> TimeoutTypes:
    """A client's or a call's `timeout`: seconds > 0, an `httpx.Timeout`, or None."""
    if value is None or isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidParameterError(
            f"timeout must be a number of seconds > 0, an httpx.Timeout or None, got {value!r}.",
            parameter="timeout",
        )
    return float(value)


def is_per_operation(timeout: TimeoutTypes) -> bool:
    """Whether `timeout` sets httpx's per-operation timeouts (and so no call deadline)."""
    return isinstance(timeout, httpx.Timeout)


def check_proxy(value: object) -> str | None:
    """The `proxy=` option: None (the environment's) or an http(s):// URL."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise InvalidParameterError(
            f"proxy must be an http:// or https:// URL or None, got {type(value).__name__}.",
            parameter="proxy",
        )
    return value


def check_verify(value: object) -> VerifyTypes:
    """The `verify=` option: True, False, a CA bundle path, or an `ssl.SSLContext`."""
    if isinstance(value, bool | ssl.SSLContext):
        return value
    if isinstance(value, str) and value:
        import os

        try:
            if os.path.isdir(value):
                return ssl.create_default_context(capath=value)
            return ssl.create_default_context(cafile=value)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidParameterError(
                f"verify={value!r} is not a readable CA bundle or directory ({exc}).",
                parameter="verify",
            ) from None
    raise InvalidParameterError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, got {value!r}.",
        parameter="verify",
    )
