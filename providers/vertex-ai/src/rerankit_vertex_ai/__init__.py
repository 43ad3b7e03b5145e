"""Google Vertex AI ranking provider for rerankit, registered under the prefix `vertex_ai`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import MAX_RECORDS, VertexAIProvider

__all__ = ["MAX_RECORDS", "VertexAIProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Vertex AI ranking provider under `vertex_ai`."""
    register("vertex_ai", VertexAIProvider())
