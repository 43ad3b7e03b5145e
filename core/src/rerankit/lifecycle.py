"""What life-cycle hooks see of a call, and how the clients call them.

`CallContext` is one rerank call (one model, after fallbacks: the one that answered or
failed last), `AttemptContext` one upstream HTTP attempt of it. Neither ever holds the
API key. The clients build them only when some installed plugin implements a life-cycle
hook (`Lifecycle.active`), so a process without such plugins pays one attribute check
per call.

Each hook implementation is called on its own: one that raises is logged once (per
plugin and hook, with its traceback) and the call goes on without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .hookspecs import LIFECYCLE_HOOKS

if TYPE_CHECKING:
    import pluggy

    from .provider import Ranking
    from .types import RerankResponse

__all__ = ["CallContext", "AttemptContext", "Lifecycle"]

logger = logging.getLogger("rerankit.plugins")


@dataclass(slots=True, eq=False)
class CallContext:
    """One rerank call, as life-cycle hooks see it (never the API key).

    The fields above `attempts` describe what was asked and do not change; the others
    are filled in as the call goes. `state` is for plugins: keep what you need until
    `rerank_call_finished` under your plugin's name.
    """

    #: The model string as the caller wrote it (`nvidia_nim/nvidia/...`).
    model: str
    #: Its prefix and the registered provider's name.
    prefix: str
    provider: str
    #: The provider's own model name (the part after the prefix).
    provider_model: str
    query: str
    #: The documents' texts, in the caller's order.
    documents: Sequence[str]
    #: Provider parameters, as validated.
    params: Mapping[str, Any]
    top_n: int | None
    return_documents: bool
    #: The base URL the call goes to, when the provider speaks HTTP (no credentials in it).
    api_base: str | None
    #: What the provider's scores mean (`logit`, `probability`, `bm25`, `unknown`).
    score_kind: str
    #: True for `AsyncClient` (and the proxy), False for `Client`.
    is_async: bool
    #: Upstream attempts made so far (retries, chunks and fallbacks included).
    attempts: int = 0
    #: True when `rerank_cached_ranking` answered.
    cached: bool = False
    #: Seconds, set when the call ends.
    duration: float | None = None
    #: The answer, on success; the full ranking it was made from (before `top_n`).
    response: RerankResponse | None = None
    ranking: Ranking | None = None
    #: The error, on failure.
    error: BaseException | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class AttemptContext:
    """One upstream HTTP attempt of a call."""

    #: The model this attempt is for (the primary or a fallback).
    model: str
    #: 1 for the first attempt of its chunk, 2 for its first retry, ...
    number: int
    #: The documents it carries: `[start, stop)` into the call's documents.
    document_range: tuple[int, int]
    method: str
    #: The request URL, without credentials or query string.
    url: str
    #: Headers hooks add to the request (trace context); the provider's own win.
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int | None = None
    error: BaseException | None = None
    #: Seconds, set when the attempt ends.
    duration: float | None = None
    state: dict[str, Any] = field(default_factory=dict)


class Lifecycle:
    """The life-cycle hook implementations of the installed plugins, ready to call."""

    __slots__ = ("_impls", "_lock", "_reported", "active", "observes_attempts", "observes_calls")

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self._impls: dict[str, list[Any]] = {}
        for name in LIFECYCLE_HOOKS:
            caller = getattr(pm.hook, name, None) if pm is not None else None
            # pluggy calls the last registered first; keep that order.
            found = list(reversed(caller.get_hookimpls())) if caller is not None else []
            self._impls[name] = found
        #: Whether any life-cycle hook is implemented at all (else the clients skip them).
        self.active = any(self._impls.values())
        #: Whether the attempt hooks are (else the clients build no `AttemptContext`).
        self.observes_attempts = bool(
            self._impls["rerank_attempt_started"] or self._impls["rerank_attempt_finished"]
        )
        #: Whether any implementation can see a `CallContext` (else the clients build none,
        #: and attempt hooks get `call=None`, which none of them takes).
        self.observes_calls = _observes_calls(self._impls)
        self._reported: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, plugins: Sequence[object]) -> Lifecycle:
        """The hooks of `plugins` alone (a client's own); a misspelt hook is an error."""
        import pluggy

        from . import hookspecs
        from .errors import PluginLoadError

        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        try:
            for plugin in plugins:
                pm.register(plugin)
            pm.check_pending()  # a hook name the spec does not know would never be called
        except pluggy.PluginValidationError as exc:
            raise PluginLoadError(f"A client's plugin cannot be used: {exc}") from None
        return cls(pm)

    def then(self, other: Lifecycle) -> Lifecycle:
        """These implementations first, then `other`'s."""
        joined = Lifecycle()
        for name in LIFECYCLE_HOOKS:
            joined._impls[name] = self._impls[name] + other._impls[name]
        joined.active = self.active or other.active
        joined.observes_attempts = self.observes_attempts or other.observes_attempts
        joined.observes_calls = self.observes_calls or other.observes_calls
        return joined

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation of `hook`; one that raises is reported, not raised."""
        for impl in self._impls[hook]:
            try:
                impl.function(*[kwargs[name] for name in impl.argnames])
            except Exception:
                self._report(hook, impl.plugin_name)

    def cached_ranking(self, call: CallContext) -> Ranking | None:
        """The first ranking a `rerank_cached_ranking` implementation returns, if any."""
        for impl in self._impls["rerank_cached_ranking"]:
            try:
                ranking = impl.function(*[{"call": call}[n] for n in impl.argnames])
            except Exception:
                self._report("rerank_cached_ranking", impl.plugin_name)
                continue
            if ranking is None:
                continue
            from .provider import Ranking

            if not isinstance(ranking, Ranking):  # checked like a provider's answer
                from .errors import InvalidResponseError

                raise InvalidResponseError(
                    f"The rerankit plugin {impl.plugin_name!r} answered rerank_cached_ranking "
                    f"with a {type(ranking).__name__}, not a rerankit.Ranking."
                )
            return ranking
        return None

    def _report(self, hook: str, plugin: str) -> None:
        with self._lock:
            first = (plugin, hook) not in self._reported
            self._reported.add((plugin, hook))
        if first:
            logger.exception(
                "The rerankit plugin %r failed in its %s hook; the call goes on without it "
                "(reported once; fix or uninstall the plugin).",
                plugin,
                hook,
            )
        else:
            logger.debug("The rerankit plugin %r failed in %s again.", plugin, hook)


def _observes_calls(impls: Mapping[str, Sequence[Any]]) -> bool:
    """Whether a call hook is implemented, or an attempt hook that takes `call`."""
    if any(impls[name] for name in _CALL_HOOKS):
        return True
    return any("call" in impl.argnames for name in _ATTEMPT_HOOKS for impl in impls[name])


_CALL_HOOKS = ("rerank_call_started", "rerank_cached_ranking", "rerank_call_finished")
_ATTEMPT_HOOKS = ("rerank_attempt_started", "rerank_attempt_finished")
