"""Voyage AI rerank provider for rerankit, registered under the prefix `voyage`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import VoyageProvider

__all__ = ["VoyageProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Voyage AI provider under `voyage`."""
    register("voyage", VoyageProvider())
