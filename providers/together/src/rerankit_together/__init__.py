"""Together AI rerank provider for rerankit, registered under the prefix `together_ai`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import TogetherProvider

__all__ = ["TogetherProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Together AI provider under `together_ai`."""
    register("together_ai", TogetherProvider())
