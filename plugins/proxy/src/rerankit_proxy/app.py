"""The proxy as a raw ASGI application: routing, auth, limits, answers, access log.

No web framework: one dict lookup finds the route, the body is read once (bounded in size
and time), and each answer is a single `http.response.body` message with its length set;
an answer given without reading the whole body closes the connection. Upstream
calls go through one pooled `rerankit.AsyncClient` per process, created at start-up
(lifespan) and closed at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from rerankit import AsyncClient
from rerankit.registry import ProviderRegistry, default_registry

from .auth import Caller, KeyStore
from .config import ProxyConfig
from .metrics import Metrics
from .ratelimit import RateLimiter
from .replies import ApiError, dumps
from .router import Router

__all__ = ["ProxyApp", "Exchange", "create_app"]

logger = logging.getLogger("rerankit.proxy")
access_logger = logging.getLogger("rerankit.proxy.access")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"


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

    def header(self, name: bytes) -> bytes | None:
        """A request header's value (names are lower-case in ASGI)."""
        for key, value in self.scope["headers"]:
            if key == name:
                return bytes(value)
        return None


Reply = tuple[int, bytes, list[tuple[bytes, bytes]]]
Handler = Callable[["ProxyApp", Exchange], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    """A path: its name (a metrics label), method, handler and who may call it."""

    name: str
    method: str
    handler: Handler
    #: "public": no key; "key": any key; "master": the master key only.
    access: str = "key"


class ProxyApp:
    """The ASGI application. `create_app(config)` builds one."""

    def __init__(
        self,
        config: ProxyConfig,
        *,
        registry: ProviderRegistry | None = None,
        workers: int = 1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        from .endpoints import ROUTES

        self.config = config
        self.registry = registry or default_registry()
        self.keys = KeyStore(config)
        self.metrics = Metrics()
        self.limiter = RateLimiter(workers=workers)
        self.routes: dict[str, Route] = ROUTES
        self._transport = transport
        self._router: Router | None = None
        self.ready = False

    @property
    def router(self) -> Router:
        """The router, with its pooled upstream client (created on first use)."""
        if self._router is None:
            # Core's default HTTP client: on aiohttp (installed with this package), keeping
            # no cookies, as one client serves every caller. Retries across deployments
            # are the router's; the client retries a deployment itself only when its
            # config says so (`max_retries`, passed per call).
            client = AsyncClient(
                transport=self._transport,
                registry=self.registry,
                timeout=self.config.router.timeout,
                max_retries=0,
                max_response_bytes=self.config.limits.max_response_bytes,
            )
            self._router = Router(self.config, self.registry, client, self.metrics)
        return self._router

    async def startup(self) -> None:
        """Create the upstream client; the proxy is ready after this."""
        _ = self.router
        self.ready = True

    async def shutdown(self) -> None:
        """Close the upstream connections."""
        self.ready = False
        if self._router is not None:
            await self._router.client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported to the server, which stops
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        route = self.routes.get(path.rstrip("/") or "/")
        exchange = Exchange(scope, receive, route.name if route else "unknown")
        headers: list[tuple[bytes, bytes]]
        try:
            if route is None:
                raise ApiError(404, "not_found", f"No route {path!r}; see /openapi.json.")
            if scope["method"] != route.method:
                raise ApiError(
                    405,
                    "method_not_allowed",
                    f"{path} takes {route.method}, not {scope['method']}.",
                    headers=[(b"allow", route.method.encode())],
                )
            if route.access != "public":
                self._authorize(exchange, route)
            status, body, headers = await route.handler(self, exchange)
        except ApiError as exc:
            status, body, headers = exc.status, exc.body(), exc.headers
            exchange.error_type = exc.type
            if status == 401:
                headers = [*headers, (b"www-authenticate", b"Bearer")]
        except Exception:
            logger.exception("internal error answering %s %s", scope["method"], path)
            error = ApiError(500, "internal_error", "The proxy failed; see its log.")
            status, body, headers = 500, error.body(), []
            exchange.error_type = error.type
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running when the graceful shutdown
            # timeout ends: they get an answer, and the log a line instead of a traceback.
            logger.warning("answered %s %s 503: the proxy is shutting down", scope["method"], path)
            error = ApiError(503, "shutting_down", "The proxy is shutting down; retry.")
            status, body, headers = 503, error.body(), [(b"retry-after", b"1")]
            exchange.error_type = error.type
        content_type = JSON if not headers or headers[0][0] != b"content-type" else None
        out = [(b"content-length", str(len(body)).encode()), *headers]
        if content_type is not None:
            out.append((b"content-type", content_type))
        if not exchange.body_read and _has_body(scope):
            # The unread rest of the body would be parsed as the next request, or trickle
            # in for ever: end the connection with this answer.
            out.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        elapsed = time.perf_counter() - started
        self.metrics.record_request(
            exchange.route, exchange.model, status, elapsed, exchange.error_type
        )
        if access_logger.isEnabledFor(logging.INFO):
            caller = exchange.caller.name if exchange.caller else "-"
            access_logger.info(
                "%s %s model=%s status=%d latency_ms=%.1f key=%s deployment=%s",
                scope["method"],
                _loggable_path(scope),
                exchange.model,
                status,
                elapsed * 1000,
                caller,
                exchange.deployment or "-",
            )

    def _authorize(self, exchange: Exchange, route: Route) -> None:
        caller = self.keys.authenticate(exchange.header(b"authorization"))
        if caller is None:
            raise ApiError(
                401,
                "authentication_error",
                "Missing or wrong API key: send 'Authorization: Bearer <key>'.",
                code="invalid_api_key",
            )
        exchange.caller = caller
        if route.access == "master" and not caller.is_master:
            raise ApiError(
                403,
                "permission_denied",
                f"{exchange.scope['path']} needs the master key.",
                code="master_key_required",
            )
        if caller.rpm is not None:
            wait = self.limiter.acquire(caller.digest, caller.rpm)
            if wait is not None:
                raise ApiError(
                    429,
                    "rate_limit_error",
                    f"Key {caller.name!r} is over its limit of {caller.rpm} requests per minute.",
                    code="key_rate_limited",
                    headers=[(b"retry-after", str(max(1, round(wait + 0.5))).encode())],
                )

    async def read_body(self, exchange: Exchange) -> bytes:
        """The request body, refusing more than `limits.max_body_bytes` (413) and a body
        that takes longer than `server_settings.body_timeout` to arrive (408)."""
        limit = self.config.limits.max_body_bytes
        declared = exchange.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        seconds = self.config.server.body_timeout
        try:
            async with asyncio.timeout(seconds):
                body = await self._receive_body(exchange, limit)
        except TimeoutError:
            logger.info(
                "answered %s 408: the body took longer than %g s (server_settings.body_timeout)",
                _loggable_path(exchange.scope),
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

    @staticmethod
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

    def json_reply(self, value: Any, status: int = 200) -> Reply:
        """A JSON answer."""
        return status, dumps(value), []

    def deadline(self) -> float:
        """When a request started now must have been answered (monotonic seconds)."""
        return time.monotonic() + self.config.limits.request_timeout

    async def wait(self, awaitable: Awaitable[Any]) -> Any:
        """Await within the request deadline; 504 after it."""
        seconds = self.config.limits.request_timeout
        try:
            async with asyncio.timeout(seconds):
                return await awaitable
        except TimeoutError:
            raise ApiError(
                504,
                "timeout",
                f"The request took longer than the proxy's limit of {seconds:g} s.",
                code="request_timeout",
            ) from None


def _loggable_path(scope: Scope) -> str:
    """The path as sent (still %-encoded, so a caller cannot forge log lines), cut short."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else scope["path"]
    return (path if path.isprintable() else path.encode("unicode_escape").decode())[:200]


def _has_body(scope: Scope) -> bool:
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


def create_app(
    config: ProxyConfig,
    *,
    registry: ProviderRegistry | None = None,
    workers: int = 1,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProxyApp:
    """The proxy's ASGI application for `config`."""
    return ProxyApp(config, registry=registry, workers=workers, transport=transport)
