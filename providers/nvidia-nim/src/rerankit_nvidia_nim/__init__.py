"""Nvidia NIM rerank provider for rerankit, registered under the prefix `nvidia_nim`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import NvidiaNimProvider

__all__ = ["NvidiaNimProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Nvidia NIM provider under `nvidia_nim`."""
    register("nvidia_nim", NvidiaNimProvider())
