"""Pinecone Inference rerank provider for rerankit, registered under the prefix `pinecone`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import PineconeProvider

__all__ = ["PineconeProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Pinecone Inference provider under `pinecone`."""
    register("pinecone", PineconeProvider())
