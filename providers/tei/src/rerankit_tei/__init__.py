"""Hugging Face text-embeddings-inference (TEI) rerank provider, registered as `tei`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import TeiProvider

__all__ = ["TeiProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Hugging Face text-embeddings-inference (TEI) provider under `tei`."""
    register("tei", TeiProvider())
