"""The provider contract suite (rerankit.testing) run against the Hugging Face provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_huggingface import HuggingFaceProvider


class TestHuggingFaceContract(ProviderContract):
    provider = HuggingFaceProvider()
    prefix = "huggingface"
    model = "BAAI/bge-reranker-v2-m3"
    plugin = "rerankit_huggingface"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        return [{"index": i, "score": s} for i, s in scores]

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message, "error_type": "Validation"}
