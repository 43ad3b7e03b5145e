"""The ASGI stack `rerankit serve` runs: the `ProxyApp` wrapped from outside.

    RequestIdMiddleware          every answer gets x-request-id; logs and upstreams see it
      CorsMiddleware             only when general_settings.cors is set
        ProxyApp                 routes, auth, limits, handlers (/metrics public when
                                 general_settings.metrics_auth is false)

The middleware sit outside the app so its hot path stays as it is; CORS costs nothing
when it is off (not in the stack). The request id's life-cycle plugin is registered for
the process here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rerankit.plugins import get_plugin_manager, register_plugin

from .app import ProxyApp
from .asgi import Route
from .cors import ASGIApp, CorsMiddleware
from .request_id import RequestIdHeader, RequestIdMiddleware

__all__ = ["wrap", "public_metrics", "register_request_id_plugin", "PLUGIN_NAME"]

#: The name the request-id life-cycle plugin is registered under.
PLUGIN_NAME = "rerankit-proxy-request-id"


def public_metrics(routes: Mapping[str, Route]) -> dict[str, Route]:
    """`routes` with `/metrics` answered without a key (for in-cluster scrapers)."""
    return {
        path: replace(route, access="public") if route.name == "metrics" else route
        for path, route in routes.items()
    }


def register_request_id_plugin() -> None:
    """Make every upstream attempt of this process carry the request's `x-request-id`."""
    if get_plugin_manager().get_plugin(PLUGIN_NAME) is None:
        register_plugin(RequestIdHeader(), PLUGIN_NAME)


def wrap(app: ProxyApp) -> ASGIApp:
    """`app` in the stack above, configured from `app.config`."""
    if not app.config.metrics_auth:
        app.routes = public_metrics(app.routes)
    register_request_id_plugin()
    outer: ASGIApp = app
    if app.config.cors is not None:
        outer = CorsMiddleware(outer, app.config.cors)
    return RequestIdMiddleware(outer)
