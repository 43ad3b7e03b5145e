"""Starting the proxy: check the config, then run uvicorn (one or several workers).

`rerankit serve` calls `serve`. Config problems (and a bad port or worker count) raise
before anything listens. With several workers, each worker process builds its app from
the environment that `serve` sets (`app_from_environment`), so a generated master key and
the connection limits are the same in all of them.

A config file that sets no master key and no keys means "no authentication" in the
gateway file format: served open on a loopback address (with a loud warning), refused on
any other unless `--no-auth` says so (`choose_auth`). Without a config file, a key is
generated and printed, as before. uvicorn speaks HTTP through
`http_guard.GuardedHttpToolsProtocol`, which enforces the head limits and the connection cap.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import tempfile
from dataclasses import replace
from typing import Any

from rerankit.errors import ConfigurationError

from .app import ProxyApp
from .config import ProxyConfig
from .config_reader import default_config, load_config, with_environment_redis
from .cors import ASGIApp
from .endpoints import create_app
from .env import master_key_from_environment
from .logs import LogFormat
from .logs import configure_logging as _configure_logging
from .server_settings import ServerSettings
from .stack import public_metrics, wrap

__all__ = [
    "serve",
    "load",
    "app_from_environment",
    "asgi_from_environment",
    "require_extra",
    "choose_auth",
    "is_loopback",
]

logger = logging.getLogger("rerankit.proxy")

_ENV_CONFIG = "RERANKIT_PROXY_CONFIG"
_ENV_KEY = "RERANKIT_PROXY_GENERATED_KEY"
_ENV_WORKERS = "RERANKIT_PROXY_WORKERS"
_ENV_LOG_LEVEL = "RERANKIT_PROXY_LOG_LEVEL"
_ENV_SERVER = "RERANKIT_PROXY_SERVER_SETTINGS"
_ENV_OPEN = "RERANKIT_PROXY_OPEN_ACCESS"
#: The private directory where each worker writes its metrics (metrics_files).
_ENV_METRICS_DIR = "RERANKIT_PROXY_METRICS_DIR"
_ENV_LOG_FORMAT = "RERANKIT_PROXY_LOG_FORMAT"
_ENV_METRICS_PUBLIC = "RERANKIT_PROXY_METRICS_PUBLIC"
#: File descriptors kept beyond `max_connections`: upstream pool, listener, logs.
_SPARE_FILES = 256


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
    """The checked configuration from `config_path`, or the default one (with the Redis
    of `RERANKIT_REDIS_URL` when the file names none, and `RERANKIT_MASTER_KEY`, which
    wins over the file's master key)."""
    env_key = master_key_from_environment(os.environ)
    if config_path:
        config = load_config(config_path, master_key=env_key or master_key)
    else:
        config = default_config(master_key=env_key or master_key)
    if env_key is not None and config.master_key != env_key:
        logger.info("the master key comes from RERANKIT_MASTER_KEY, not from %s", config.source)
        config = replace(config, master_key=env_key, generated_master_key=False)
    return with_environment_redis(config)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log lines to stderr, text or JSON, each with the request's id while one is served
    (never a key or a document)."""
    _configure_logging(level, log_format)


def check_address(port: int, workers: int) -> None:
    """Refuse a port outside 1..65535 or fewer than one worker, saying what to pass."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigurationError(
            f"--port must be a whole number from 1 to 65535, got {port!r}: e.g. --port 4000."
        )
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(
            f"--workers must be a whole number >= 1, got {workers!r}: e.g. --workers 2."
        )


def is_loopback(host: str) -> bool:
    """Whether `host` (a `--host` value) is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost may resolve anywhere
        return False


def choose_auth(
    config: ProxyConfig, from_file: bool, host: str, no_auth: bool = False
) -> ProxyConfig:
    """`config` with `open_access` set when it is to be served without authentication.

    A config file with no master key and no `keys` means no authentication: allowed on
    a loopback `host`, or anywhere with `no_auth`; refused (`ConfigurationError`) on any
    other address. Without a file, the generated key stays unless `no_auth`.
    """
    configured = not config.generated_master_key or bool(config.keys)
    if configured:
        if no_auth:
            raise ConfigurationError(
                f"--no-auth turns authentication off, but {config.source} sets "
                "general_settings.master_key or keys (or RERANKIT_MASTER_KEY is set): "
                "drop --no-auth, or remove them."
            )
        return config
    if not (no_auth or (from_file and is_loopback(host))):
        if not from_file:
            return config  # the default config: this run's key is generated and printed
        raise ConfigurationError(
            f"{config.source} sets no general_settings.master_key, so the proxy would let "
            f"anyone who can reach {host} in, and bill your providers. Set a master key "
            "(master_key: os.environ/RERANKIT_MASTER_KEY), bind a loopback address "
            "(--host 127.0.0.1), or pass --no-auth to serve it without authentication."
        )
    return replace(config, open_access=True)


def _warn_open(host: str, port: int) -> None:
    logger.warning(
        "NO AUTHENTICATION: no master key or keys are configured, so every caller that "
        "can reach http://%s:%d is accepted, with master rights (/health, /metrics) and "
        "any Authorization header or none. Set general_settings.master_key to require a key.",
        host,
        port,
    )


def serve(
    config_path: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 4000,
    workers: int = 1,
    log_level: str = "info",
    log_format: LogFormat = "text",
    no_auth: bool = False,
    metrics_no_auth: bool = False,
    max_header_bytes: int | None = None,
    max_headers: int | None = None,
    header_timeout: float | None = None,
    body_timeout: float | None = None,
    max_connections: int | None = None,
    graceful_shutdown_timeout: float | None = None,
) -> None:
    """Check the configuration and serve it until SIGINT/SIGTERM.

    The connection settings given here override the file's `server_settings`;
    `no_auth` serves a config without master key or keys open on any address;
    `metrics_no_auth` serves `/metrics` without a key (as `general_settings.metrics_auth:
    false` does).
    """
    check_address(port, workers)
    overrides = {
        "max_header_bytes": max_header_bytes,
        "max_headers": max_headers,
        "header_timeout": header_timeout,
        "body_timeout": body_timeout,
        "max_connections": max_connections,
        "graceful_shutdown_timeout": graceful_shutdown_timeout,
    }
    ServerSettings().merged(overrides)  # a bad flag stops here, before anything else
    uvicorn = require_extra("uvicorn")
    require_extra("httptools")  # the parser under http_guard's protocol
    from . import http_guard

    configure_logging(log_level, log_format)
    config = load(config_path)
    settings = config.server.merged(overrides)
    config = choose_auth(replace(config, server=settings), bool(config_path), host, no_auth)
    if metrics_no_auth:
        config = replace(config, metrics_auth=False)
    if not config.metrics_auth and not config.open_access and not is_loopback(host):
        logger.warning(
            "GET /metrics needs no key (metrics_auth: false or --metrics-no-auth) and the "
            "proxy listens on %s: anyone who can reach it reads the model names, key names "
            "and traffic. Keep the port inside the cluster, or require the master key.",
            host,
        )
    http_guard.configure(settings)
    _ensure_file_limit(settings.max_connections)
    if config.open_access:
        _warn_open(host, port)
    elif config.generated_master_key:
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
        "timeout_graceful_shutdown": settings.graceful_shutdown_timeout,
        # Head size and time limits, connection cap: see http_guard. No websockets here.
        "http": http_guard.GuardedHttpToolsProtocol,
        "ws": "none",
    }
    if workers == 1:
        uvicorn.run(wrap(create_app(config)), **options)
        return
    os.environ[_ENV_CONFIG] = config_path or ""
    os.environ[_ENV_WORKERS] = str(workers)
    os.environ[_ENV_LOG_LEVEL] = log_level
    os.environ[_ENV_LOG_FORMAT] = log_format
    if not config.metrics_auth:
        os.environ[_ENV_METRICS_PUBLIC] = "1"
    os.environ[_ENV_SERVER] = settings.to_json()
    if config.open_access:
        os.environ[_ENV_OPEN] = "1"
    elif config.generated_master_key:
        os.environ[_ENV_KEY] = config.master_key
    # Made here (mode 0700, by mkdtemp), removed when the server stops: one file per worker
    # that ever ran, added up by whichever worker answers a scrape.
    metrics_dir = tempfile.mkdtemp(prefix="rerankit-proxy-metrics-")
    os.environ[_ENV_METRICS_DIR] = metrics_dir
    try:
        uvicorn.run(
            "rerankit_proxy.server:asgi_from_environment", factory=True, workers=workers, **options
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def app_from_environment() -> ProxyApp:
    """The app of one worker process, from what `serve` put in the environment."""
    from . import http_guard

    log_format: LogFormat = "json" if os.environ.get(_ENV_LOG_FORMAT) == "json" else "text"
    configure_logging(os.environ.get(_ENV_LOG_LEVEL, "info"), log_format)
    config = load(os.environ.get(_ENV_CONFIG) or None, os.environ.get(_ENV_KEY) or None)
    settings = os.environ.get(_ENV_SERVER)
    if settings:  # the command line's settings, which win over the file's
        config = replace(config, server=ServerSettings.from_json(settings))
    if os.environ.get(_ENV_OPEN) == "1":  # `serve` chose to serve without authentication
        config = replace(config, open_access=True)
    if os.environ.get(_ENV_METRICS_PUBLIC) == "1":  # --metrics-no-auth
        config = replace(config, metrics_auth=False)
    # Runs in the worker before it accepts connections: its protocol uses these limits.
    http_guard.configure(config.server)
    app = create_app(config, workers=int(os.environ.get(_ENV_WORKERS, "1")))
    metrics_dir = os.environ.get(_ENV_METRICS_DIR)
    if metrics_dir:  # several workers: /metrics adds up every worker's numbers
        app.metrics.share(metrics_dir, cache=config.cache)
    if not config.metrics_auth:
        app.routes = public_metrics(app.routes)
    return app


def asgi_from_environment() -> ASGIApp:
    """What one worker process serves: its app in the middleware stack (`stack.wrap`)."""
    return wrap(app_from_environment())


def _ensure_file_limit(max_connections: int) -> None:
    """Raise the soft open-files limit to fit `max_connections`, or warn that it cannot."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + _SPARE_FILES
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
    if target < needed:
        logger.warning(
            "server_settings.max_connections = %d needs about %d open files, but this "
            "process may open only %d (ulimit -n): connections beyond that fail when "
            "accepted. Raise the limit or lower max_connections.",
            max_connections,
            needed,
            target,
        )
