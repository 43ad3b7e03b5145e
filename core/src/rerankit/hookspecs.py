"""The hooks a rerankit plugin can implement, and the markers to implement them.

A plugin is a module (or object) registered through the `rerankit` entry-point group:

```toml
[project.entry-points.rerankit]
my_provider = "my_package.plugin"
```

and implementing hooks with `@rerankit.hookimpl`. An implementation may take fewer
arguments than the spec, so hooks can gain arguments without breaking plugins.

Three kinds of hook:

- `register_providers`: add providers (prefixes).
- `register_commands`: add `rerankit` subcommands.
- life-cycle hooks, called by the SDK's clients (sync and async) and so by the proxy:
  `rerank_call_started`, `rerank_cached_ranking` (may answer before any I/O),
  `rerank_call_finished`, `rerank_attempt_started`, `rerank_attempt_finished`. They get a
  `rerankit.lifecycle.CallContext` (and an `AttemptContext`), never the API key. They are
  plain functions, called on the calling thread (the event loop's, for `AsyncClient`;
  the attempt hooks of a sync call split into chunks run on its chunk threads, and a
  chunk cut off by another's failure may report its attempt after the call ended):
  keep them quick and thread-safe. One that raises is logged once and the call goes on, except
  `rerank_cached_ranking`, whose answer is checked like a provider's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import argparse

    from .lifecycle import AttemptContext, CallContext
    from .provider import Provider, Ranking

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "RegisterProvider", "LIFECYCLE_HOOKS"]

PROJECT_NAME = "rerankit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: The callback passed to `register_providers`: `register(prefix, provider)`.
RegisterProvider = Callable[[str, "Provider"], None]


@hookspec
def register_providers(register: RegisterProvider) -> None:
    """Register rerank providers: call `register(prefix, provider)` once per prefix.

    `prefix` is the part of a model string before the first `/` (`[a-z0-9_]+`), and
    `provider` an instance of `rerankit.HttpProvider` or `rerankit.LocalProvider`.
    One plugin may register several prefixes. A prefix claimed by two plugins is an
    error naming both.
    """


@hookspec
def register_commands(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `rerankit` subcommands: `cli.add_parser(name, help=...)`, then `set_defaults(run=f)`.

    `cli` is the argparse sub-parser collection of the `rerankit` command. `run` is
    called with the parsed `argparse.Namespace` and returns the exit status (0: success,
    1: the upstream failed, 2: bad input or setup); a `rerankit.errors.RerankitError` it
    raises is printed as `error: ...` with that status.
    """


@hookspec
def rerank_call_started(call: CallContext) -> None:
    """A rerank call starts: its model is resolved and its input checked, nothing sent.

    `call` says what was asked (`model`, `prefix`, `provider`, `query`, `documents`,
    `params`, `top_n`, ...). Put what the plugin needs until the call ends (a span, a
    timer) in `call.state`, under the plugin's own name.
    """


@hookspec(firstresult=True)
def rerank_cached_ranking(call: CallContext) -> Ranking | None:
    """Answer the call before any I/O, or return None to let it go upstream.

    Return the full `rerankit.Ranking` (every document's score, as the provider would;
    sorting, `top_n` and `return_documents` are applied after it, so one stored answer
    serves them all). It is checked like a provider's answer: a ranking that misses a
    document or has a non-finite score fails the call with `InvalidResponseError`. The
    first plugin to return a ranking wins. `call.cached` is then True.
    """


@hookspec
def rerank_call_finished(call: CallContext) -> None:
    """A rerank call ended: `call.response` is set on success, `call.error` on failure.

    `call.duration` is its wall time in seconds, `call.attempts` the upstream attempts
    made (0 when a cache answered or the provider is local), and `call.ranking` the full
    ranking the answer was made from (before `top_n`), for caches.
    """


@hookspec
def rerank_attempt_started(call: CallContext, attempt: AttemptContext) -> None:
    """One upstream HTTP attempt is about to be sent (each retry, chunk and fallback).

    `attempt.headers` may be added to (trace context such as `traceparent`); headers the
    provider set (authentication among them) cannot be replaced. The request's own
    headers are not shown.
    """


@hookspec
def rerank_attempt_finished(call: CallContext, attempt: AttemptContext) -> None:
    """One upstream attempt ended: `attempt.status_code` when the upstream answered,
    `attempt.error` when it failed (an answer that could not be parsed included),
    `attempt.duration` in seconds."""


#: The life-cycle hooks, in the order a call meets them.
LIFECYCLE_HOOKS = (
    "rerank_call_started",
    "rerank_cached_ranking",
    "rerank_attempt_started",
    "rerank_attempt_finished",
    "rerank_call_finished",
)
