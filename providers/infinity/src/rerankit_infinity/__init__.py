"""Infinity (self-hosted) rerank provider for rerankit, registered under the prefix `infinity`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import InfinityProvider

__all__ = ["InfinityProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Infinity (self-hosted) provider under `infinity`."""
    register("infinity", InfinityProvider())
