"""Tracing every client of the process: `instrument()` and `uninstrument()`.

`instrument()` registers a `RerankitInstrumentor` in rerankit's plugin manager (the public
`rerankit.plugins` API); `RERANKIT_OTEL=1` does the same through the package's own hooks
(see `__init__`). Either is undone by `uninstrument()`.
"""

from __future__ import annotations

import sys
import threading
import warnings

from opentelemetry import metrics, trace

from rerankit.plugins import get_plugin_manager, register_plugin, unregister_plugin

from ._environment import ENVIRONMENT_VARIABLE
from ._instrumentor import RerankitInstrumentor

__all__ = ["instrument", "uninstrument"]

#: The name `instrument()` registers its instrumentor under in rerankit's plugin manager.
PLUGIN_NAME = "opentelemetry.instrument"
_lock = threading.Lock()


def _package() -> object:
    return sys.modules[__name__.rpartition(".")[0]]


def instrument(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    propagate: bool = True,
) -> RerankitInstrumentor:
    """Trace and measure every rerank call of the process (every client, sync and async).

    Returns the active instrumentor. Calling it again changes nothing; doing so with other
    arguments warns, as `uninstrument()` must come first. With `RERANKIT_OTEL=1` the
    process is instrumented already (with the global providers).
    """
    pm = get_plugin_manager()
    with _lock:
        package = _package()
        current: object = pm.get_plugin(PLUGIN_NAME)
        if current is None and pm.is_registered(package):
            current = getattr(package, "_from_environment", None)
        if isinstance(current, RerankitInstrumentor):
            if tracer_provider is not None or meter_provider is not None or not propagate:
                from rerankit import RerankitWarning

                warnings.warn(
                    "rerankit is instrumented already (by an earlier instrument() or by "
                    f"{ENVIRONMENT_VARIABLE}=1), so these arguments are not used: call "
                    "rerankit_opentelemetry.uninstrument() first.",
                    RerankitWarning,
                    stacklevel=2,
                )
            return current
        instrumentor = RerankitInstrumentor(
            tracer_provider=tracer_provider, meter_provider=meter_provider, propagate=propagate
        )
        register_plugin(instrumentor, PLUGIN_NAME)
        return instrumentor


def uninstrument() -> None:
    """Stop tracing every client: undo `instrument()`, and `RERANKIT_OTEL=1` for this process.

    Clients given `plugins=[RerankitInstrumentor(...)]` keep theirs.
    """
    with _lock:
        unregister_plugin(name=PLUGIN_NAME)
        package = _package()
        if getattr(package, "_from_environment", None) is not None:
            unregister_plugin(package)
