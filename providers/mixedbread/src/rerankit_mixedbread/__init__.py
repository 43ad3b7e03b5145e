"""Mixedbread rerank provider for rerankit, registered under the prefix `mixedbread`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import MixedbreadProvider

__all__ = ["MixedbreadProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Mixedbread provider under `mixedbread`."""
    register("mixedbread", MixedbreadProvider())
