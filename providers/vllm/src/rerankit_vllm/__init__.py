"""vLLM (self-hosted) rerank provider for rerankit, registered under the prefix `hosted_vllm`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import VllmProvider

__all__ = ["VllmProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the vLLM (self-hosted) provider under `hosted_vllm`."""
    register("hosted_vllm", VllmProvider())
