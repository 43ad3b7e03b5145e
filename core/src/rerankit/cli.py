"""The `rerankit` command.

```
rerankit --version
rerankit rerank MODEL QUERY -d DOC [-d DOC ...] [--top-n N] [-p NAME=VALUE] [--json]
rerankit providers [--models] [--json]
rerankit new-provider NAME [--output DIR] [--force]
rerankit serve [--config FILE] [--host 127.0.0.1] [--port 4000] [--workers N]
               [--max-connections N] [--max-header-bytes N] [--max-headers N] [--header-timeout S]
               [--body-timeout S] [--graceful-shutdown-timeout S]
```

Documents come from `-d`, from `--file` (one per line, JSON Lines or a JSON list), or
from standard input. Exit status: 0 on success, 1 when the upstream call failed, 2 for
bad input or setup, 130 after Ctrl-C, 141 when the reader of the output went away
(`| head`).
Errors are rendered with the command's spelling of options (`--api-key`, not `api_key=`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO

from .errors import ConfigurationError, PluginLoadError, ProviderError, RerankitError

__all__ = ["main"]

#: Exit status when the output's reader closed the pipe (128 + SIGPIPE, as shells report).
EXIT_BROKEN_PIPE = 141
#: Exit status after Ctrl-C (128 + SIGINT, as shells report).
EXIT_INTERRUPTED = 130

#: Python spellings in messages -> the command's options (one rendering rule, here).
_CLI_SPELLINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bapi_key=(?!\w)"), "--api-key"),
    (re.compile(r"\bapi_base="), "--api-base "),
    (re.compile(r"\bdrop_params=True\b"), "--drop-params"),
    (re.compile(r"\btimeout="), "--timeout "),
    (re.compile(r"\btop_n must\b"), "--top-n must"),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        parser = _parser()
    except RerankitError as exc:  # a plugin's command could not be added
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        status = int(args.run(args))
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # `rerankit ... | head`: the reader has what it wanted. Point stdout at devnull so
        # the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ProviderError as exc:
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return 1
    except RerankitError as exc:
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return 2


def cli_message(error: BaseException) -> str:
    """`error`'s message with Python arguments spelled as this command's options."""
    text = str(error)
    for pattern, option in _CLI_SPELLINGS:
        text = pattern.sub(option, text)
    return text


def _version() -> str:
    from . import __version__

    return f"rerankit {__version__}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rerankit", description="Rerank documents with any provider, from the shell."
    )
    parser.add_argument("-V", "--version", action="version", version=_version())
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
    rerank.add_argument(
        "-f",
        "--file",
        help="read documents from FILE ('-': stdin); line N is index N-1, blank lines "
        "are empty documents",
    )
    rerank.add_argument(
        "--input-format",
        choices=["lines", "jsonl", "json"],
        default="lines",
        help="lines: one document per line (default); jsonl: one JSON string or object "
        "per line; json: one JSON list",
    )
    rerank.add_argument(
        "--jsonl",
        action="store_const",
        const="jsonl",
        dest="input_format",
        help="short for --input-format jsonl",
    )
    rerank.add_argument(
        "--field",
        default="text",
        help="the text field of JSON objects (default text); other fields are kept",
    )
    rerank.add_argument("--encoding", default="utf-8", help="encoding of the input (default utf-8)")
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
    rerank.add_argument(
        "--api-key",
        help="API key (else the provider's env var, which keeps it out of shell history)",
    )
    rerank.add_argument(
        "--drop-params",
        action="store_true",
        help="drop -p parameters the provider does not accept, with a warning",
    )
    rerank.add_argument("--timeout", type=float, help="seconds for the whole call")
    rerank.add_argument("--json", action="store_true", help="print the response as JSON")
    rerank.set_defaults(run=_rerank)

    providers = commands.add_parser("providers", help="list the installed providers")
    providers.add_argument(
        "--models", action="store_true", help="also list each provider's known models"
    )
    providers.add_argument("--json", action="store_true", help="print as JSON")
    providers.set_defaults(run=_providers)

    new = commands.add_parser(
        "new-provider", help="scaffold a provider plugin package registering prefix NAME"
    )
    new.add_argument("name", metavar="NAME", help="the prefix to register, [a-z0-9_]+")
    new.add_argument("-o", "--output", help="where to create the folder (default: here)")
    new.add_argument(
        "--force",
        action="store_true",
        help="scaffold even if an installed plugin already registers NAME",
    )
    new.set_defaults(run=_new_provider)

    _plugin_commands(commands)
    if "serve" not in commands.choices:
        # The proxy is a plugin (rerankit-proxy); without it, say what to install.
        serve = commands.add_parser(
            "serve", help="run the HTTP proxy (needs: pip install 'rerankit[proxy]')"
        )
        serve.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        serve.set_defaults(run=_serve_missing)
    return parser


def _plugin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Let each plugin's `register_commands` add its subcommands; a clash names the plugin."""
    from .plugins import get_plugin_manager

    for impl in reversed(get_plugin_manager().hook.register_commands.get_hookimpls()):
        try:
            impl.function(*[{"cli": commands}[name] for name in impl.argnames])
        except argparse.ArgumentError as exc:
            raise PluginLoadError(
                f"The rerankit plugin {impl.plugin_name!r} adds a command that clashes with "
                f"another ({exc}). Uninstall one of them, or leave it out with "
                "RERANKIT_LOAD_PLUGINS."
            ) from None


def _rerank(args: argparse.Namespace) -> int:
    from ._client import Client
    from .registry import default_registry

    documents: list[Any] = list(args.documents)
    if args.file:
        documents += _read_input(args, args.file)
    elif not documents and not sys.stdin.isatty():
        documents = _read_input(args, "-")
    kwargs: dict[str, Any] = dict(_parse_param(p) for p in args.param)
    for option in ("top_n", "api_base", "api_key", "timeout"):
        value = getattr(args, option)
        if value is not None:
            kwargs[option] = value
    if args.drop_params:
        kwargs["drop_params"] = True
    progress = _progress_for(args, default_registry().resolve(args.model)[1], len(documents))
    plugins: list[object] = []
    if progress is not None:
        from ._cli_progress import ProgressPlugin

        plugins.append(ProgressPlugin(progress))
    # A client of its own, closed when the call is done (the shared one would keep its
    # connections open until exit).
    try:
        with Client(plugins=plugins) as client:
            response = client.rerank(args.model, args.query, documents, **kwargs)
    finally:
        if progress is not None:
            progress.close()
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


def _read_input(args: argparse.Namespace, path: str) -> list[Any]:
    from ._cli_input import CliInputError, read_documents

    options = {"encoding": args.encoding, "input_format": args.input_format, "field": args.field}
    if path == "-":
        return read_documents(sys.stdin.buffer, name="standard input", **options)
    try:
        stream: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise CliInputError(f"--file {path}: no such file.") from None
    except IsADirectoryError:
        raise CliInputError(f"--file {path} is a directory, not a file of documents.") from None
    except OSError as exc:
        raise CliInputError(f"--file {path} cannot be read: {exc.strerror}.") from None
    with stream:
        return read_documents(stream, name=path, **options)


def _progress_for(args: argparse.Namespace, provider: Any, documents: int) -> Any:
    """A progress line when a terminal watches a call split into several requests."""
    from .provider import HttpProvider

    limit = provider.max_documents_per_request
    if args.json or not isinstance(provider, HttpProvider) or not limit or not sys.stderr.isatty():
        return None
    expected = math.ceil(documents / limit)
    if expected < 2:
        return None
    from ._cli_progress import ProgressLine

    return ProgressLine(sys.stderr, documents=documents, expected=expected)


def _providers(args: argparse.Namespace) -> int:
    from .registry import default_registry

    rows: list[dict[str, Any]] = []
    for entry in default_registry().entries():
        provider = entry.provider
        key_envs = [name for name in (provider.api_key_env, *provider.api_key_env_aliases) if name]
        rows.append(
            {
                "prefix": entry.prefix,
                "distribution": entry.distribution or entry.plugin,
                "version": entry.version or "",
                "score_kind": provider.score_kind,
                "env_vars": list(provider.env_vars()),
                "key": (
                    ("set" if any(os.environ.get(n) for n in key_envs) else "not set")
                    if key_envs
                    else "none"
                ),
                "models": list(provider.known_models),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(
            "No rerankit providers are loaded (RERANKIT_LOAD_PLUGINS may leave them out; "
            "pip install 'rerankit[nvidia-nim]', ...)."
        )
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
    if args.models:
        for row in rows:
            listed = ", ".join(f"{row['prefix']}/{m}" for m in row["models"])
            print(f"\n{row['prefix']}: {listed or 'no catalogue (any model its upstream serves)'}")
    return 0


def _new_provider(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldNames, write_scaffold

    root = write_scaffold(args.name, args.output, force=args.force)
    names = ScaffoldNames.for_prefix(args.name)
    print(f"Created {root}: {names.distribution}, prefix {names.name!r}, {names.class_name}.")
    print(f"Next: cd {root} && pip install -e '.[test]' && pytest")
    return 0


def _serve_missing(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("rerankit_proxy") is not None:
        raise ConfigurationError(
            "rerankit serve comes from the 'proxy' plugin (rerankit-proxy), which is installed "
            "but not loaded: add proxy to RERANKIT_LOAD_PLUGINS, or unset it."
        )
    raise ConfigurationError(
        "rerankit serve needs the proxy plugin: pip install 'rerankit[proxy]' "
        "(the rerankit-proxy distribution)."
    )


def _parse_param(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"error: -p expects NAME=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return name, value


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
