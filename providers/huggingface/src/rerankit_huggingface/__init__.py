"""Hugging Face Inference Endpoints rerank provider for rerankit, registered as `huggingface`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import HuggingFaceProvider

__all__ = ["HuggingFaceProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Hugging Face provider under `huggingface`."""
    register("huggingface", HuggingFaceProvider())
