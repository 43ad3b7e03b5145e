"""The rerankit proxy: an HTTP rerank gateway (`rerankit serve`), installed with
`pip install 'rerankit[proxy]'`.

Modules, one job each:

- `config` / `config_reader`: the configuration types; reading and checking the YAML
  (both spellings, `os.environ/NAME`).
- `auth`: bearer keys, compared in constant time.
- `ratelimit`: per-key requests per minute.
- `router`: load balancing, retries, cool-down, fallbacks over `rerankit.AsyncClient`.
- `protocol`: the Cohere and NIM request/response shapes.
- `app` / `endpoints` / `openapi`: the raw ASGI application and its routes.
- `metrics`: Prometheus counters and histograms.
- `server`: start-up and uvicorn.

`import rerankit` never imports this package.
"""

from __future__ import annotations

import sys

# httpx imports its command line (rich, click: about half a second) whenever those are
# installed; the proxy never uses it, and start-up time counts. Skipped only when httpx
# is not imported yet, so a program that already uses httpx is left as it is.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from .app import ProxyApp, create_app
from .config import ProxyConfig, ProxyConfigError, default_config, load_config, parse_config
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
