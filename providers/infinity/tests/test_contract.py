"""The provider contract suite (rerankit.testing) run against the Infinity provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_infinity import InfinityProvider


class TestInfinityContract(ProviderContract):
    provider = InfinityProvider()
    prefix = "infinity"
    model = "mixedbread-ai/mxbai-rerank-xsmall-v1"
    plugin = "rerankit_infinity"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "object": "rerank",
            "results": [
                {"relevance_score": s, "index": i, "document": None} for i, s in scores[:cut]
            ],
            "model": request.json["model"],
            "usage": {"prompt_tokens": 10, "total_tokens": 10},
            "id": "contract",
            "created": 1700000000,
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}
