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
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx

from rerankit import AsyncClient
from rerankit.registry import ProviderRegistry, default_registry

from .asgi import (
    JSON,
    ApiError,
    Exchange,
    Receive,
    Reply,
    Route,
    Scope,
    Send,
    has_body,
    json_reply,
    loggable_path,
    rate_limited,
    read_body,
)
from .auth import KeyStore
from .config import ProxyConfig
from .metrics import Metrics
from .ratelimit import RateLimiter
from .router import Router
from .shared import SharedState
from .tokens import KeyTokens
from .tracing import incoming_trace

__all__ = ["ProxyApp"]

logger = logging.getLogger("rerankit.proxy")
access_logger = logging.getLogger("rerankit.proxy.access")


class ProxyApp:
    """The ASGI application: dispatch, keys, limits, answers and the access log.

    `routes` maps paths to handlers (`endpoints.ROUTES`); `create_app(config)` builds one
    with them.
    """

    def __init__(
        self,
        config: ProxyConfig,
        routes: Mapping[str, Route],
        *,
        registry: ProviderRegistry | None = None,
        workers: int = 1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.registry = registry or default_registry()
        self.keys = KeyStore(config)
        self.metrics = Metrics()
        self.limiter = RateLimiter(workers=workers)
        #: Rate windows and ejections shared through Redis, when configured.
        self.shared = SharedState(config.redis, self.metrics) if config.redis is not None else None
        self.tokens = KeyTokens(self.shared, workers)  # keys' tpm
        self.routes = routes
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
                plugins=[self.config.cache] if self.config.cache is not None else [],
            )
            self._router = Router(
                self.config, self.registry, client, self.metrics, shared=self.shared
            )
        return self._router

    async def startup(self) -> None:
        """Create the upstream client; the proxy is ready after this."""
        _ = self.router
        # A Redis that is down does not stop the proxy (calls use local state), but the
        # log says so from the start.
        if self.shared is not None and await self.shared.check():
            logger.info(
                "rate limits and ejections are shared through Redis at %s",
                self.shared.settings.description,
            )
        self.ready = True

    async def shutdown(self) -> None:
        """Close the upstream connections."""
        self.ready = False
        self.metrics.close()  # a worker's last process numbers, for the other workers
        if self._router is not None:
            await self._router.client.aclose()
        if self.config.cache is not None:
            self.config.cache.close()  # the response cache's backend (connections, file)
        if self.shared is not None:
            await self.shared.aclose()

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
                await self._limit(exchange)
            with incoming_trace(scope["headers"]):
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
        if not exchange.body_read and has_body(scope):
            # The unread rest of the body would be parsed as the next request, or trickle
            # in for ever: end the connection with this answer.
            out.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        if exchange.tokens:  # set only for a key with tpm: counted once the answer is out
            await self.tokens.add(exchange.caller, exchange.tokens)
        elapsed = time.perf_counter() - started
        self.metrics.record_request(
            exchange.route, exchange.model, status, elapsed, exchange.error_type
        )
        if access_logger.isEnabledFor(logging.INFO):
            caller = exchange.caller.name if exchange.caller else "-"
            access_logger.info(
                "%s %s model=%s status=%d latency_ms=%.1f key=%s deployment=%s",
                scope["method"],
                loggable_path(scope),
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

    async def _limit(self, exchange: Exchange) -> None:
        """429 when the caller's key is over its `rpm`: across every process sharing the
        Redis when there is one (and it answers), else in this process."""
        caller = exchange.caller
        if caller is not None and caller.tpm is not None:
            await self.tokens.check(caller)
        if caller is None or caller.rpm is None:
            return
        wait: float | bool | None = False
        if self.shared is not None:
            wait = await self.shared.acquire(caller.digest, caller.rpm)
        if wait is False:
            wait = self.limiter.acquire(caller.digest, caller.rpm)
        if wait is not None:
            raise rate_limited(
                f"Key {caller.name!r} is over its limit of {caller.rpm} requests per minute.",
                "key_rate_limited",
                wait,
            )

    async def read_body(self, exchange: Exchange) -> bytes:
        """The request body within `limits.max_body_bytes` (413) and
        `server_settings.body_timeout` (408)."""
        limits, server = self.config.limits, self.config.server
        return await read_body(exchange, limits.max_body_bytes, server.body_timeout)

    def json_reply(self, value: Any, status: int = 200) -> Reply:
        """A JSON answer."""
        return json_reply(value, status)

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
