"""Which failures move a call on to its next fallback model, and how the chain is reported.

A fallback answers for a provider that failed after its retries: server errors, rate
limits, timeouts, connection errors, answers that cannot be turned into a ranking, and an
upstream that rejects the model's own credentials or moved (401/402/403/407, 3xx). It
never answers for a request the caller got wrong (400/404/413/422, a validation error, a
missing key): another model would only hide the mistake. The rule is `rerankit.policy`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .errors import ProviderError
from .policy import Fault, fault_of, may_move_on

__all__ = ["should_fall_back", "failure_record", "note_fallbacks"]

logger = logging.getLogger("rerankit")


def should_fall_back(error: BaseException) -> bool:
    """Whether the next model in the chain should get the call after `error`."""
    return may_move_on(error)


def failure_record(model: str, error: ProviderError) -> dict[str, Any]:
    """One entry of `meta.fallbacks_tried`: the model that failed and how.

    A model whose upstream rejected its credentials or moved is a setup problem that a
    fallback hides, so it is also logged as a warning.
    """
    if fault_of(error) is Fault.DEPLOYMENT:
        logger.warning(
            "%s rejected the call for model %r with HTTP %s: its api_key or api_base is "
            "wrong; falling back to the next model.",
            error.provider or "the upstream",
            model,
            error.status_code,
        )
    return {
        "model": model,
        "error": type(error).__name__,
        "status_code": error.last_status,
        "attempts": error.attempts,
    }


def note_fallbacks(error: ProviderError, tried: Sequence[dict[str, Any]]) -> ProviderError:
    """Record in the last model's error the models that failed earlier in the chain.

    An attribute only (`fallbacks_tried`): `str(error)` renders it (`ProviderError`).
    """
    if tried:
        error.fallbacks_tried = list(tried)
    return error
