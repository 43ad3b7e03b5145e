"""Cohere rerank provider for rerankit, registered under the prefix `cohere`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import CohereProvider

__all__ = ["CohereProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Cohere provider under `cohere`."""
    register("cohere", CohereProvider())
