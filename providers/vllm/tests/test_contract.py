"""The provider contract suite (rerankit.testing) run against the Vllm provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_vllm import VllmProvider


class TestVllmContract(ProviderContract):
    provider = VllmProvider()
    prefix = "hosted_vllm"
    model = "BAAI/bge-reranker-v2-m3"
    plugin = "rerankit_vllm"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "id": "contract",
            "model": request.json["model"],
            "usage": {"total_tokens": 10},
            "results": [{"index": i, "relevance_score": s} for i, s in scores[:cut]],
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"object": "error", "message": message, "type": "BadRequestError", "code": status}
