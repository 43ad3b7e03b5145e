"""Which failures move a call on to its next fallback model, and how the chain is reported.

A fallback answers for a provider that failed after its retries: server errors, rate
limits, timeouts, connection errors, and answers that cannot be turned into a ranking. It
never answers for a request the caller got wrong (a 4xx other than 408/429, a validation
error, a missing key): another model would only hide the mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._retry import is_retryable
from .errors import InvalidResponseError, ProviderError

__all__ = ["should_fall_back", "failure_record", "note_fallbacks"]


def should_fall_back(error: BaseException) -> bool:
    """Whether the next model in the chain should get the call after `error`."""
    return isinstance(error, InvalidResponseError) or is_retryable(error)


def failure_record(model: str, error: ProviderError) -> dict[str, Any]:
    """One entry of `meta.fallbacks_tried`: the model that failed and how."""
    return {
        "model": model,
        "error": type(error).__name__,
        "status_code": error.last_status,
        "attempts": error.attempts,
    }


def note_fallbacks(error: ProviderError, tried: Sequence[dict[str, Any]]) -> ProviderError:
    """Add the models that failed earlier in the chain to the last model's error message."""
    if tried and error.args and isinstance(error.args[0], str):
        earlier = "; ".join(f"{t['model']}: {t['error']}" for t in tried)
        error.args = (f"{error.args[0]} (every fallback failed; earlier: {earlier})",)
    return error
