"""The `rerankit` command.

```
rerankit rerank MODEL QUERY -d DOC [-d DOC ...] [--top-n N] [-p NAME=VALUE] [--json]
rerankit providers [--json]
rerankit new-provider NAME [--output DIR]
rerankit serve [--config FILE] [--host 127.0.0.1] [--port 4000] [--workers N]
               [--max-connections N] [--max-header-bytes N] [--max-headers N] [--header-timeout S]
               [--body-timeout S] [--graceful-shutdown-timeout S]
```

Documents come from `-d`, from `--file` (one per line), or from standard input.
Exit status: 0 on success, 1 when the upstream call failed, 2 for bad input or setup.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from .errors import ProviderError, RerankitError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except ProviderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RerankitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rerankit", description="Rerank documents with any provider, from the shell."
    )
    commands = parser.add_subparsers(title="commands")

    rerank = commands.add_parser("rerank", help="rank documents by relevance to a query")
    rerank.add_argument("model", help="provider/model, e.g. local/bm25")
    rerank.add_argument("query", help="the query to rank against")
    rerank.add_argument(
        "-d",
        "--document",
        action="append",
        default=[],
        dest="documents",
        help="a document (repeat for more)",
    )
    rerank.add_argument("-f", "--file", help="read documents from FILE, one per line ('-': stdin)")
    rerank.add_argument("-n", "--top-n", type=int, help="return only the N best")
    rerank.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="provider parameter, e.g. -p truncate=END (JSON values allowed)",
    )
    rerank.add_argument("--api-base", help="upstream base URL (else the provider's env var)")
    rerank.add_argument("--timeout", type=float, help="seconds for the whole call")
    rerank.add_argument("--json", action="store_true", help="print the response as JSON")
    rerank.set_defaults(run=_rerank)

    providers = commands.add_parser("providers", help="list the installed providers")
    providers.add_argument("--json", action="store_true", help="print as JSON")
    providers.set_defaults(run=_providers)

    new = commands.add_parser(
        "new-provider", help="scaffold a provider plugin package registering prefix NAME"
    )
    new.add_argument("name", metavar="NAME", help="the prefix to register, [a-z0-9_]+")
    new.add_argument("-o", "--output", help="where to create the folder (default: here)")
    new.set_defaults(run=_new_provider)

    serve = commands.add_parser(
        "serve", help="run the HTTP proxy (needs: pip install 'rerankit[proxy]')"
    )
    serve.add_argument("--config", help="YAML config file (default: every installed provider)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4000, help="port (default 4000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="info logs one access line per request (default info)",
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
    return parser


def _rerank(args: argparse.Namespace) -> int:
    from ._default import rerank

    documents: list[str] = list(args.documents)
    if args.file:
        documents += _read_lines(sys.stdin if args.file == "-" else open(args.file))  # noqa: SIM115
    elif not documents and not sys.stdin.isatty():
        documents = _read_lines(sys.stdin)
    kwargs: dict[str, Any] = dict(_parse_param(p) for p in args.param)
    if args.top_n is not None:
        kwargs["top_n"] = args.top_n
    if args.api_base:
        kwargs["api_base"] = args.api_base
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
    response = rerank(args.model, args.query, documents, **kwargs)
    if args.json:
        print(response.model_dump_json(exclude_none=True, indent=2))
        return 0
    width = max(20, shutil.get_terminal_size((100, 20)).columns - 30)
    print(f"{'rank':>4}  {'index':>5}  {'score':>10}  document")
    for rank, result in enumerate(response.results, 1):
        text = result.document.text if result.document else ""
        text = text.replace("\n", " ")
        if len(text) > width:
            text = text[: width - 3] + "..."
        print(f"{rank:>4}  {result.index:>5}  {result.relevance_score:>10.4f}  {text}")
    return 0


def _providers(args: argparse.Namespace) -> int:
    from .registry import default_registry

    rows: list[dict[str, Any]] = []
    for entry in default_registry().entries():
        provider = entry.provider
        key_env = provider.api_key_env
        rows.append(
            {
                "prefix": entry.prefix,
                "distribution": entry.distribution or entry.plugin,
                "version": entry.version or "",
                "score_kind": provider.score_kind,
                "env_vars": list(provider.env_vars()),
                "key": ("set" if os.environ.get(key_env) else "not set") if key_env else "none",
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No rerankit providers installed (pip install rerankit-local, ...).")
        return 0
    headers = ["prefix", "distribution", "version", "scores", "key", "env vars"]
    table = [
        [
            r["prefix"],
            r["distribution"],
            r["version"],
            r["score_kind"],
            r["key"],
            ", ".join(r["env_vars"]) or "-",
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table, strict=False)]
    for line in [headers, *table]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    return 0


def _new_provider(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldNames, write_scaffold

    root = write_scaffold(args.name, args.output)
    names = ScaffoldNames.for_prefix(args.name)
    print(f"Created {root}: {names.distribution}, prefix {names.name!r}, {names.class_name}.")
    print(f"Next: cd {root} && pip install -e '.[test]' && pytest")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .proxy.server import serve

    serve(
        args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        max_connections=args.max_connections,
        max_header_bytes=args.max_header_bytes,
        max_headers=args.max_headers,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        graceful_shutdown_timeout=args.graceful_shutdown_timeout,
    )
    return 0


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"error: -p expects NAME=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


def _read_lines(stream: Any) -> list[str]:
    with stream:
        return [line.rstrip("\n") for line in stream if line.strip()]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
