"""The rerankit proxy: an HTTP rerank gateway (`rerankit serve`), installed with
`pip install 'rerankit[proxy]'` (the `rerankit-proxy` distribution).

Modules, one job each:

- `plugin`: the rerankit plugin; adds `rerankit serve` (`register_commands`).
- `config` / `config_reader`: the configuration types; reading and checking the YAML
  (both spellings, `os.environ/NAME`; `load_config`, `parse_config`, `default_config`).
- `auth`: bearer keys, compared in constant time.
- `ratelimit`: per-key requests per minute; `tokens`: per-key tokens per minute.
- `params`: the one check of provider parameters (config file, requests, fallbacks).
- `router`: load balancing, retries, cool-down, fallbacks over `rerankit.AsyncClient`.
- `protocol`: the Cohere and NIM request fields, parsing and answers.
- `asgi`: the HTTP primitives (exchange, routes, replies, errors, body reading).
- `app` / `endpoints` / `openapi`: the raw ASGI application, its handlers and route
  table (`create_app`), and the OpenAPI document generated from them.
- `metrics`: Prometheus counters and histograms; `metrics_files`: adding them up across
  workers; `process_stats`: the `process_*` metrics.
- `server` / `server_settings` / `http_guard`: start-up, uvicorn, connection limits.
- `stack` / `request_id` / `cors`: the middleware around the app (x-request-id, CORS).
- `logs` / `env`: text or JSON log lines; `serve`'s settings from the environment.

`import rerankit` never imports this package, and importing it imports none of its
modules: `rerankit` loads `rerankit_proxy.plugin` to build its command line, which must
stay cheap. The names below are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ProxyApp
    from .config import ProxyConfig, ProxyConfigError
    from .config_reader import default_config, load_config, parse_config
    from .endpoints import create_app
    from .server import serve

__all__ = [
    "ProxyApp",
    "ProxyConfig",
    "ProxyConfigError",
    "create_app",
    "default_config",
    "load_config",
    "parse_config",
    "serve",
]

_HOMES = {
    "ProxyApp": "app",
    "create_app": "endpoints",
    "ProxyConfig": "config",
    "ProxyConfigError": "config",
    "default_config": "config_reader",
    "load_config": "config_reader",
    "parse_config": "config_reader",
    "serve": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rerankit_proxy' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{home}", __name__), name)
