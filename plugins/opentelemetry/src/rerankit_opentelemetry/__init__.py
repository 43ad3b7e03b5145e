"""OpenTelemetry for rerankit: a span per rerank call, one per upstream attempt, metrics.

Spans follow the GenAI semantic conventions (`gen_ai.operation.name = "rerank"`) and the
HTTP client conventions; W3C trace context reaches the upstreams. Turn it on per client,
`rerankit.Client(plugins=[RerankitInstrumentor()])`, or for every client with
`instrument()`, `RERANKIT_OTEL=1` or `opentelemetry-instrument`. Installed but not turned
on, it does nothing.
See https://github.com/rerankit/rerankit/blob/main/docs/opentelemetry.md

This module is what the `rerankit` entry point registers. Switched off, it implements no
hook and imports nothing but the standard library (rerankit loads every installed plugin
at the first call), so the clients skip the life-cycle hooks and pay nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._environment import ENVIRONMENT_VARIABLE, enabled_by_environment

if TYPE_CHECKING:
    from ._instrumentor import RerankitInstrumentor
    from ._switch import instrument, uninstrument

__all__ = [
    "RerankitInstrumentor",
    "instrument",
    "uninstrument",
    "enabled_by_environment",
    "ENVIRONMENT_VARIABLE",
]
__version__ = "0.2.0"

_LAZY = {
    "RerankitInstrumentor": "._instrumentor",
    "instrument": "._switch",
    "uninstrument": "._switch",
}


def __getattr__(name: str) -> Any:
    # No __dir__: pluggy scans dir(module) for hooks, and must not import these.
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


#: The instrumentor `RERANKIT_OTEL=1` turned on, if it did; its bound methods are then
#: this module's hooks.
_from_environment: RerankitInstrumentor | None = None
if enabled_by_environment():
    from ._instrumentor import RerankitInstrumentor

    _from_environment = RerankitInstrumentor()
    rerank_call_started = _from_environment.rerank_call_started
    rerank_attempt_started = _from_environment.rerank_attempt_started
    rerank_attempt_finished = _from_environment.rerank_attempt_finished
    rerank_call_finished = _from_environment.rerank_call_finished
