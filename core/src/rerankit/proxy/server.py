"""Starting the proxy: check the config, then run uvicorn (one or several workers).

`rerankit serve` calls `serve`. Config problems raise before anything listens. With
several workers, each worker process builds its app from the environment that `serve`
sets (`app_from_environment`), so a generated master key is the same in all of them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ..errors import ConfigurationError
from .app import ProxyApp, create_app
from .config import ProxyConfig, default_config, load_config

__all__ = ["serve", "load", "app_from_environment", "require_extra"]

logger = logging.getLogger("rerankit.proxy")

_ENV_CONFIG = "RERANKIT_PROXY_CONFIG"
_ENV_KEY = "RERANKIT_PROXY_GENERATED_KEY"
_ENV_WORKERS = "RERANKIT_PROXY_WORKERS"
_ENV_LOG_LEVEL = "RERANKIT_PROXY_LOG_LEVEL"
#: Seconds in-flight requests get to finish after SIGTERM.
GRACEFUL_SHUTDOWN = 30


def require_extra(module: str) -> Any:
    """Import a module of the `proxy` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"The rerankit proxy needs {module}, which is not installed: "
            "pip install 'rerankit[proxy]'."
        ) from None


def load(config_path: str | None, master_key: str | None = None) -> ProxyConfig:
    """The checked configuration from `config_path`, or the default one."""
    if config_path:
        return load_config(config_path, master_key=master_key)
    return default_config(master_key=master_key)


def configure_logging(level: str) -> None:
    """Log lines to stderr: time, level, logger, message (never a key or a document)."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # httpx logs every upstream request at INFO: the access line already says it all.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


def serve(
    config_path: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 4000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Check the configuration and serve it until SIGINT/SIGTERM."""
    uvicorn = require_extra("uvicorn")
    configure_logging(log_level)
    config = load(config_path)
    if config.generated_master_key:
        # Shown once, on the terminal that started the proxy; never logged.
        print(
            "rerankit proxy: no master key is configured; this run's key is:\n"
            f"    {config.master_key}\n"
            "Set general_settings.master_key in a config file to choose your own.",
            flush=True,
        )
    names = config.model_names()
    logger.info(
        "serving %d model name(s) from %s on http://%s:%d: %s",
        len(names),
        config.source,
        host,
        port,
        ", ".join(names),
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "log_level": log_level.lower(),
        "access_log": False,  # the app writes its own access lines
        "server_header": False,
        # uvicorn's X-Forwarded-* middleware rewrites the client address and scheme, which
        # the app never reads: one wrapper less per request.
        "proxy_headers": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
    }
    if workers <= 1:
        uvicorn.run(create_app(config), **options)
        return
    os.environ[_ENV_CONFIG] = config_path or ""
    os.environ[_ENV_WORKERS] = str(workers)
    os.environ[_ENV_LOG_LEVEL] = log_level
    if config.generated_master_key:
        os.environ[_ENV_KEY] = config.master_key
    uvicorn.run(
        "rerankit.proxy.server:app_from_environment", factory=True, workers=workers, **options
    )


def app_from_environment() -> ProxyApp:
    """The app of one worker process, from what `serve` put in the environment."""
    configure_logging(os.environ.get(_ENV_LOG_LEVEL, "info"))
    config = load(os.environ.get(_ENV_CONFIG) or None, os.environ.get(_ENV_KEY) or None)
    return create_app(config, workers=int(os.environ.get(_ENV_WORKERS, "1")))
