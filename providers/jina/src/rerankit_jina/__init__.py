"""Jina AI rerank provider for rerankit, registered under the prefix `jina_ai`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import JinaProvider

__all__ = ["JinaProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Jina AI provider under `jina_ai`."""
    register("jina_ai", JinaProvider())
