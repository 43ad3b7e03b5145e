"""OpenTelemetry for rerankit: a span per rerank call, one per upstream attempt, metrics.

Spans follow the GenAI semantic conventions (`gen_ai.operation.name = "rerank"`) and the
HTTP client conventions; W3C trace context reaches the upstreams. Turn it on per client,
`rerankit.Client(plugins=[RerankitInstrumentor()])`, or for every client with
`instrument()` or `RERANKIT_OTEL=1`. Installed but not turned on, it does nothing.
See https://github.com/rerankit/rerankit/blob/main/docs/opentelemetry.md
"""

from __future__ import annotations

from ._instrumentor import RerankitInstrumentor
from ._switch import ENVIRONMENT_VARIABLE, enabled_by_environment, instrument, uninstrument

__all__ = ["RerankitInstrumentor", "instrument", "uninstrument", "ENVIRONMENT_VARIABLE"]
__version__ = "0.2.0"

#: The instrumentor `RERANKIT_OTEL=1` turned on, if it did. This module is what the
#: `rerankit` entry point registers: it implements the life-cycle hooks (bound methods of
#: this instrumentor) only then, so an installed, unused plugin costs the clients nothing.
_from_environment: RerankitInstrumentor | None = None
if enabled_by_environment():
    _from_environment = RerankitInstrumentor()
    rerank_call_started = _from_environment.rerank_call_started
    rerank_attempt_started = _from_environment.rerank_attempt_started
    rerank_attempt_finished = _from_environment.rerank_attempt_finished
    rerank_call_finished = _from_environment.rerank_call_finished
