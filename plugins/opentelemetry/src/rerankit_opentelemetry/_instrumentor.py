"""`RerankitInstrumentor`: the life-cycle plugin that traces and measures rerank calls.

A call gets a CLIENT span `rerank {model}`, parented to the span current where the call
was made; each upstream HTTP attempt (retries, chunks, fallbacks) a CLIENT child span, whose
W3C trace context the globally configured propagator writes into `attempt.headers`.

No context is ever attached (made current): the spans are kept in `call.state` and
`attempt.state` and parented explicitly, so a call that fails, is cancelled or runs its
chunks on worker threads leaves the caller's context exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import context, metrics, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from rerankit import hookimpl
from rerankit.lifecycle import AttemptContext, CallContext

from ._attributes import (
    OPERATION,
    SCHEMA_URL,
    attempt_attributes,
    call_attributes,
    error_description,
    error_type,
    metric_attributes,
    outcome_attributes,
)

__all__ = ["RerankitInstrumentor", "STATE_KEY"]

#: Where the call's span lives in `call.state` (and the attempt's in `attempt.state`).
STATE_KEY = "rerankit_opentelemetry"
_SCOPE = "rerankit_opentelemetry"
_VERSION = "0.2.0"

#: The GenAI conventions' advice for `gen_ai.client.operation.duration`, in seconds.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)
DOCUMENT_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


@dataclass(slots=True)
class _Traced:
    """A call this instrumentor traces: its span and the context its attempts descend from."""

    owner: RerankitInstrumentor
    span: Span
    parent: context.Context


class RerankitInstrumentor:
    """Traces and measures rerank calls with OpenTelemetry (a rerankit life-cycle plugin).

    Per client: `rerankit.Client(plugins=[RerankitInstrumentor()])`; for every client of
    the process: `rerankit_opentelemetry.instrument()` or `RERANKIT_OTEL=1`.

    `tracer_provider` and `meter_provider` default to the global ones, looked up at each
    call (so an SDK configured later is used); without an SDK the API's no-op
    implementations make this cheap. `propagate=False` sends no trace context upstream.
    When two instrumentors see one call (a client's own and a process-wide one), the first
    (the client's) traces it and the other stays out, so no span is doubled.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        propagate: bool = True,
    ) -> None:
        self.propagate = propagate
        self._tracer = trace.get_tracer(_SCOPE, _VERSION, tracer_provider, schema_url=SCHEMA_URL)
        meter = metrics.get_meter(_SCOPE, _VERSION, meter_provider, schema_url=SCHEMA_URL)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Duration of rerank calls (GenAI client operation)",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self._documents = meter.create_histogram(
            "rerankit.client.documents",
            unit="{document}",
            description="Documents per rerank call",
            explicit_bucket_boundaries_advisory=DOCUMENT_BUCKETS,
        )

    def __repr__(self) -> str:
        return f"RerankitInstrumentor(propagate={self.propagate})"

    def _traced(self, call: CallContext) -> _Traced | None:
        traced = call.state.get(STATE_KEY)
        return traced if isinstance(traced, _Traced) and traced.owner is self else None

    @hookimpl
    def rerank_call_started(self, call: CallContext) -> None:
        """Start the call's span under the caller's current span."""
        if STATE_KEY in call.state:  # another instrumentor traces this call already
            return
        # The caller's context, captured here on the calling thread (or task): attempts
        # may run on worker threads or in other tasks, where it is not current.
        caller = context.get_current()
        span = self._tracer.start_span(
            f"{OPERATION} {call.provider_model}",
            context=caller,
            kind=SpanKind.CLIENT,
            attributes=call_attributes(call),
        )
        call.state[STATE_KEY] = _Traced(self, span, trace.set_span_in_context(span, caller))

    @hookimpl
    def rerank_attempt_started(self, call: CallContext, attempt: AttemptContext) -> None:
        """Start the attempt's span under the call's, and send its trace context upstream."""
        traced = self._traced(call)
        if traced is None:
            return
        span = self._tracer.start_span(
            attempt.method,
            context=traced.parent,
            kind=SpanKind.CLIENT,
            attributes=attempt_attributes(call, attempt),
        )
        attempt.state[STATE_KEY] = (self, span)
        if self.propagate:
            current = trace.set_span_in_context(span, traced.parent)
            propagate.inject(attempt.headers, context=current)

    @hookimpl
    def rerank_attempt_finished(self, call: CallContext, attempt: AttemptContext) -> None:
        """End the attempt's span with its status code or error."""
        # Not through the call's state: a chunk still in flight when its call has already
        # failed (and ended) ends its attempt afterwards, and its span must end too.
        mine = attempt.state.get(STATE_KEY)
        if not (isinstance(mine, tuple) and mine[0] is self):
            return
        span: Span = attempt.state.pop(STATE_KEY)[1]
        status, error = attempt.status_code, attempt.error
        if span.is_recording():
            if status is not None:
                span.set_attribute("http.response.status_code", status)
            if error is not None:
                span.set_attribute("error.type", error_type(error))
                span.set_status(Status(StatusCode.ERROR, error_description(error)))
            elif status is not None and status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))
        span.end()

    @hookimpl
    def rerank_call_finished(self, call: CallContext) -> None:
        """End the call's span and record its measurements."""
        traced = self._traced(call)
        if traced is None:
            return
        del call.state[STATE_KEY]
        span, error = traced.span, call.error
        if span.is_recording():
            span.set_attributes(outcome_attributes(call))
            if error is not None:
                # The type and message only: a stack trace would carry source lines.
                span.add_event(
                    "exception",
                    {
                        "exception.type": error_type(error),
                        "exception.message": error_description(error, with_type=False),
                    },
                )
                span.set_status(Status(StatusCode.ERROR, error_description(error)))
        span.end()
        measured = metric_attributes(call)
        if call.duration is not None:
            self._duration.record(call.duration, measured)
        self._documents.record(len(call.documents), measured)
