"""`RERANKIT_OTEL`: the switch that traces every client. Standard library only, so that
loading the installed, switched-off plugin imports nothing heavy."""

from __future__ import annotations

import os
import warnings

__all__ = ["ENVIRONMENT_VARIABLE", "enabled_by_environment"]

ENVIRONMENT_VARIABLE = "RERANKIT_OTEL"
_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"", "0", "false", "no", "off"})


def enabled_by_environment() -> bool:
    """Whether `RERANKIT_OTEL` asks for every client to be traced (a typo is warned about)."""
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    if value in _ON:
        return True
    if value not in _OFF:
        from rerankit import RerankitWarning

        warnings.warn(
            f"{ENVIRONMENT_VARIABLE}={value!r} is not understood, so rerank calls are not "
            f"traced: set it to 1 to trace every client, or 0 (or unset it) not to.",
            RerankitWarning,
            stacklevel=2,
        )
    return False
