"""Continue a caller's trace: the W3C trace context of a request, current while it is served.

When OpenTelemetry's API is installed (`rerankit-opentelemetry` brings it), a request's
`traceparent` (and `tracestate`, `baggage`) headers are read with the globally configured
propagator and made the current context while the request is handled, so the spans the
`rerankit-opentelemetry` plugin opens for the upstream calls are children of the caller's
span and the upstream sees the same trace. Without the API, or without a `traceparent`
header, nothing is imported or done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

__all__ = ["incoming_trace"]

_NOTHING: AbstractContextManager[None] = nullcontext()
#: (context, propagate) modules of opentelemetry-api, False when it is not installed.
_api: Any = None


def incoming_trace(headers: list[tuple[bytes, bytes]]) -> AbstractContextManager[None]:
    """A context manager making the request's trace context current, when it has one."""
    for name, _ in headers:
        if name == b"traceparent":
            break
    else:
        return _NOTHING
    api = _opentelemetry()
    if not api:
        return _NOTHING
    return _attached(api, headers)


def _opentelemetry() -> Any:
    global _api
    if _api is None:
        try:
            from opentelemetry import context, propagate
        except ImportError:
            _api = False
        else:
            _api = (context, propagate)
    return _api


@contextmanager
def _attached(api: Any, headers: list[tuple[bytes, bytes]]) -> Iterator[None]:
    context, propagate = api
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}
    token = context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)
