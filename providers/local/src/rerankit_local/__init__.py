"""Offline rerank provider for rerankit, registered under the prefix `local`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import LocalBM25Provider

__all__ = ["LocalBM25Provider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the BM25 provider under `local`."""
    register("local", LocalBM25Provider())
