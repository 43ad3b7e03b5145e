"""The proxy's endpoints: one handler per route, and the route table.

| route | who | what |
|---|---|---|
| `POST /rerank`, `/v1/rerank`, `/v2/rerank` | key | rerank, Cohere-style answer |
| `POST /v1/ranking` | key | rerank, NIM-style request and answer |
| `GET /v1/models`, `/models` | key | the model names this key may call |
| `GET /health/liveliness`, `/health/readiness` | anyone | is the process up / ready |
| `GET /health` | master | call every deployment once |
| `GET /metrics` | master | Prometheus text |
| `GET /openapi.json` | key | the OpenAPI document |
"""

from __future__ import annotations

import asyncio
import math
from functools import cache, partial
from typing import Any

import httpx

from rerankit.errors import NotFoundError, RateLimitError, RequestTooLargeError, RerankitError
from rerankit.registry import ProviderRegistry

from .app import ProxyApp
from .asgi import ApiError, Exchange, Reply, Route, dumps
from .config import Limits, ProxyConfig
from .openapi import openapi_document
from .protocol import Shape, check_params, format_answer, load_json, parse_call
from .router import ProxiedCall, UpstreamFailure, outcome_of, retry_after_header
from .tokens import reported_tokens

__all__ = ["ROUTES", "create_app"]

#: Seconds each deployment has to answer the active health check.
HEALTH_TIMEOUT = 10.0


async def rerank(shape: Shape, app: ProxyApp, exchange: Exchange) -> Reply:
    """Any rerank route: parse, authorize the model, route, answer in the caller's shape."""
    data = load_json(await app.read_body(exchange))
    router = app.router
    model = data.get("model")
    group = router.lookup(model) if isinstance(model, str) else None
    if group is not None:
        exchange.model = group.name  # a configured name: safe as a metrics label
    call = parse_call(shape, data, app.config.limits)
    caller = exchange.caller
    assert caller is not None
    if not (caller.may_call(call.model) or (group is not None and caller.may_call(group.name))):
        raise ApiError(
            403,
            "permission_denied",
            f"This key may not call model {call.model!r}; GET /v1/models lists the models it may.",
            code="model_not_allowed",
        )
    if group is None:
        raise ApiError(
            404,
            "not_found",
            f"No model named {call.model!r} is served here; GET /v1/models lists them.",
            code="model_not_found",
        )
    check_params(call, group.params)
    try:
        routed = await app.wait(
            router.rerank(
                ProxiedCall(
                    call.model,
                    group,
                    call.query,
                    call.texts,
                    call.top_n,
                    call.params,
                    app.deadline(),
                )
            )
        )
    except UpstreamFailure as failure:
        raise _upstream_error(failure) from None
    except RerankitError as exc:  # the request's own fault (rerankit.policy): answered as is
        raise _request_error(exc) from None
    exchange.deployment = routed.deployment
    answer = routed.answer
    if caller.tpm is not None and not answer.meta.get("cached"):  # a cache spent none
        exchange.tokens = reported_tokens(answer.meta.get("usage"))
    body = format_answer(call, answer, routed.model_name)
    headers = [
        (b"x-rerankit-deployment", routed.deployment.encode()),
        (b"x-rerankit-upstream-ms", f"{routed.upstream_seconds * 1000:.2f}".encode()),
    ]
    return 200, dumps(body), headers


def _request_error(exc: RerankitError) -> ApiError:
    """A failure the request itself caused: the upstream's 404/413 keep their status."""
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", str(exc), code=outcome_of(exc))
    if isinstance(exc, RequestTooLargeError):
        return ApiError(413, "invalid_request_error", str(exc), code=outcome_of(exc))
    return ApiError(400, "invalid_request_error", str(exc), code=outcome_of(exc))


def _upstream_error(failure: UpstreamFailure) -> ApiError:
    last = failure.last_error
    kind = outcome_of(last) if last is not None else "error"
    tried = ", ".join(failure.tried) or "none"
    if isinstance(last, RateLimitError):
        # The router's hold (capped at max_retry_after), else the upstream's word as its
        # parser already capped it.
        wait = failure.retry_after if failure.retry_after is not None else last.retry_after
        wait = None if wait is None or not math.isfinite(wait) else wait
        return ApiError(
            429,
            "rate_limit_error",
            f"The upstream of model {failure.model_name!r} is rate-limiting; retry later "
            f"(deployments tried: {tried}).",
            code="upstream_rate_limited",
            headers=retry_after_header(wait if wait is not None else 1.0),
        )
    if kind == "timeout":
        return ApiError(
            504,
            "upstream_timeout",
            f"The upstream of model {failure.model_name!r} did not answer in time "
            f"(deployments tried: {tried}).",
            code="upstream_timeout",
        )
    status = getattr(last, "status_code", None)
    detail = f"{kind}, HTTP {status}" if status else kind
    return ApiError(
        502,
        "upstream_error",
        f"Every attempt for model {failure.model_name!r} failed (deployments tried: {tried}; "
        f"last: {detail}).",
        code=kind,
    )


async def models(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /v1/models`: the model names this key may call."""
    caller = exchange.caller
    assert caller is not None
    names = [n for n in app.config.model_names() if caller.may_call(n)]
    data = [{"id": n, "object": "model", "created": 0, "owned_by": "rerankit"} for n in names]
    return app.json_reply({"object": "list", "data": data})


async def liveliness(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /health/liveliness`: the process answers."""
    return app.json_reply({"status": "alive"})


async def readiness(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /health/readiness`: the config is loaded and the upstream client exists."""
    if not app.ready:
        raise ApiError(503, "not_ready", "The proxy is starting or stopping.")
    return app.json_reply({"status": "ready", "models": len(app.config.model_names())})


async def health(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /health`: ask every (non-wildcard) deployment to rank one document."""
    client = app.router.client

    async def check(deployment: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"model_name": deployment.model_name, "id": deployment.id}
        if deployment.is_wildcard:
            return {**entry, "status": "skipped", "reason": "wildcard deployment"}
        try:
            await client.rerank(
                deployment.model,
                "health check",
                ["health check"],
                return_documents=False,
                api_key=deployment.api_key,
                api_base=deployment.api_base,
                timeout=min(HEALTH_TIMEOUT, deployment.timeout or HEALTH_TIMEOUT),
                max_retries=0,
                **deployment.params,
            )
        except RerankitError as exc:
            status = getattr(exc, "status_code", None)
            return {**entry, "status": "unhealthy", "error": outcome_of(exc), "http_status": status}
        return {**entry, "status": "healthy"}

    results = await app.wait(asyncio.gather(*(check(d) for d in app.config.deployments)))
    healthy = [r for r in results if r["status"] == "healthy"]
    unhealthy = [r for r in results if r["status"] == "unhealthy"]
    return app.json_reply(
        {
            "healthy_endpoints": healthy,
            "unhealthy_endpoints": unhealthy,
            "skipped_endpoints": [r for r in results if r["status"] == "skipped"],
            "healthy_count": len(healthy),
            "unhealthy_count": len(unhealthy),
        }
    )


async def metrics(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /metrics`: Prometheus text format."""
    # With several workers, every worker's numbers added up (metrics.Metrics.share).
    body = app.metrics.exposition(app.config.cache).encode()
    return 200, body, [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]


async def openapi(app: ProxyApp, exchange: Exchange) -> Reply:
    """`GET /openapi.json`: generated from the app's routes (`ROUTES`, or as the server
    set them: a public `/metrics`) and the request definitions."""
    return app.json_reply(_openapi(tuple(app.routes.items()), app.config.limits))


@cache
def _openapi(routes: tuple[tuple[str, Route], ...], limits: Limits) -> dict[str, Any]:
    return openapi_document(dict(routes), limits)


def _routes() -> dict[str, Route]:
    def ranks(name: str, shape: Shape, summary: str) -> Route:
        nim = shape == "nim"
        return Route(
            name,
            "POST",
            partial(rerank, shape),
            summary=summary,
            request="RankingRequest" if nim else "RerankRequest",
            answer="RankingResponse" if nim else "RerankResponse",
        )

    table = [
        ranks("rerank", "rerank", "Rerank (Cohere-style)"),
        ranks("v1_rerank", "cohere_v1", "Rerank (Cohere v1)"),
        ranks("v2_rerank", "cohere_v2", "Rerank (Cohere v2)"),
        ranks("v1_ranking", "nim", "Rerank (NVIDIA NIM)"),
        Route("models", "GET", models, summary="Models this key may call", answer="ModelList"),
        Route("health_liveliness", "GET", liveliness, "public", summary="Liveness"),
        Route("health_readiness", "GET", readiness, "public", summary="Readiness"),
        Route("health", "GET", health, "master", summary="Call every deployment (master key)"),
        Route("metrics", "GET", metrics, "master", summary="Prometheus metrics", answer="text"),
        Route("openapi", "GET", openapi, summary="This document"),
    ]
    by_name = {r.name: r for r in table}
    return {
        "/rerank": by_name["rerank"],
        "/v1/rerank": by_name["v1_rerank"],
        "/v2/rerank": by_name["v2_rerank"],
        "/v1/ranking": by_name["v1_ranking"],
        "/v1/models": by_name["models"],
        "/models": by_name["models"],
        "/health/liveliness": by_name["health_liveliness"],
        "/health/liveness": by_name["health_liveliness"],
        "/health/readiness": by_name["health_readiness"],
        "/health": by_name["health"],
        "/metrics": by_name["metrics"],
        "/openapi.json": by_name["openapi"],
    }


ROUTES = _routes()


def create_app(
    config: ProxyConfig,
    *,
    registry: ProviderRegistry | None = None,
    workers: int = 1,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProxyApp:
    """The proxy's ASGI application for `config`, answering `ROUTES`."""
    return ProxyApp(config, ROUTES, registry=registry, workers=workers, transport=transport)
