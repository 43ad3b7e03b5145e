"""What `opentelemetry-instrument` (zero-code instrumentation) loads.

The `opentelemetry_instrumentor` entry point names `AutoInstrumentor`: the command
instantiates it and calls `instrument()` at start-up, as for every installed
instrumentation, and leaves it out when `OTEL_PYTHON_DISABLED_INSTRUMENTATIONS` names
`rerankit`. Running under that command is the opt-in; so no dependency on
opentelemetry-instrumentation, whose loader only needs these two methods.
"""

from __future__ import annotations

import warnings

from opentelemetry import metrics, trace

from ._switch import instrument, uninstrument

__all__ = ["AutoInstrumentor"]


class AutoInstrumentor:
    """`rerankit_opentelemetry.instrument()` in the shape of an OpenTelemetry instrumentor."""

    def instrument(self, **kwargs: object) -> None:
        """Trace every client; `tracer_provider=` and `meter_provider=` as in `instrument()`.

        `skip_dep_check`, which the loader passes, does not apply (no instrumented library's
        version to check); any other keyword is warned about and not used.
        """
        unknown = sorted(set(kwargs) - {"tracer_provider", "meter_provider", "skip_dep_check"})
        if unknown:
            from rerankit import RerankitWarning

            warnings.warn(
                f"rerankit-opentelemetry does not use {', '.join(unknown)}: only "
                "tracer_provider and meter_provider configure it.",
                RerankitWarning,
                stacklevel=2,
            )
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")
        instrument(
            tracer_provider=tracer_provider
            if isinstance(tracer_provider, trace.TracerProvider)
            else None,
            meter_provider=meter_provider
            if isinstance(meter_provider, metrics.MeterProvider)
            else None,
        )

    def uninstrument(self, **kwargs: object) -> None:
        """Stop tracing every client (`rerankit_opentelemetry.uninstrument()`)."""
        uninstrument()
