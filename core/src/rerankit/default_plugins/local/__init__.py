"""The `local` provider: offline BM25 under the prefix `local` (model `local/bm25`).

Registered by core's entry point `local = "rerankit.default_plugins.local"`.
"""

from __future__ import annotations

from rerankit.hookspecs import RegisterProvider, hookimpl

from .provider import MODELS, LocalBM25Provider

__all__ = ["MODELS", "LocalBM25Provider", "register_providers"]


@hookimpl
def register_providers(register: RegisterProvider) -> None:
    """Register the BM25 provider under `local`."""
    register("local", LocalBM25Provider())
