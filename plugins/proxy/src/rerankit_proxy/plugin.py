"""The proxy's rerankit plugin: adds `rerankit serve` through `register_commands`.

Registered as `[project.entry-points.rerankit] proxy = "rerankit_proxy.plugin"`. Building
the parser imports nothing of the proxy itself (uvicorn, aiohttp): only running `serve`
does.
"""

from __future__ import annotations

import argparse

from rerankit import hookimpl

__all__ = ["register_commands", "add_serve_command"]


@hookimpl
def register_commands(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rerankit serve`."""
    add_serve_command(cli)


def add_serve_command(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` subcommand and its options to `cli`."""
    serve = cli.add_parser("serve", help="run the HTTP rerank proxy (docs/proxy.md)")
    # Defaults are None so the environment can fill in what the command line leaves out
    # (flag > environment > default; rerankit_proxy.env, docs/deployment.md).
    serve.add_argument(
        "--config",
        help="YAML config file (or RERANKIT_CONFIG; default: every installed provider)",
    )
    serve.add_argument("--host", help="address to bind (or RERANKIT_HOST, HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (or RERANKIT_PORT, PORT; default 4000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (or RERANKIT_WORKERS; default 1)"
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without authentication when the config sets no master key or keys "
        "(needed to bind a non-loopback address without one)",
    )
    serve.add_argument(
        "--metrics-no-auth",
        action="store_true",
        default=None,
        help="serve GET /metrics without a key (for in-cluster scrapers)",
    )
    serve.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="info logs one access line per request (or RERANKIT_LOG_LEVEL; default info)",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="json: one JSON object per line (or RERANKIT_LOG_FORMAT; default text)",
    )
    # Connection limits; each overrides the config file's server_settings (docs/proxy.md).
    limits = serve.add_argument_group("connection limits (default: the config file's)")
    limits.add_argument(
        "--max-connections", type=int, metavar="N", help="open connections per worker"
    )
    limits.add_argument(
        "--max-header-bytes", type=int, metavar="N", help="request head size (431 above)"
    )
    limits.add_argument("--max-headers", type=int, metavar="N", help="header fields (431 above)")
    limits.add_argument(
        "--header-timeout", type=float, metavar="S", help="seconds to send the head"
    )
    limits.add_argument("--body-timeout", type=float, metavar="S", help="seconds to send the body")
    limits.add_argument(
        "--graceful-shutdown-timeout",
        type=float,
        metavar="S",
        help="seconds requests get after SIGTERM",
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    import os

    from .env import serve_options
    from .server import serve

    flags = {
        "config": args.config,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": args.log_level,
        "log_format": args.log_format,
    }
    options = serve_options(flags, os.environ)
    serve(
        options.config,
        host=options.host,
        port=options.port,
        workers=options.workers,
        log_level=options.log_level,
        log_format=options.log_format,
        no_auth=args.no_auth,
        metrics_no_auth=bool(args.metrics_no_auth),
        max_connections=args.max_connections,
        max_header_bytes=args.max_header_bytes,
        max_headers=args.max_headers,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
    )
    return 0
