"""The provider contract suite (rerankit.testing) run against the Together provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_together import TogetherProvider


class TestTogetherContract(ProviderContract):
    provider = TogetherProvider()
    prefix = "together_ai"
    model = "Salesforce/Llama-Rank-V1"
    plugin = "rerankit_together"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "object": "rerank",
            "id": "contract",
            "model": request.json["model"],
            "results": [{"index": i, "relevance_score": s} for i, s in scores[:cut]],
            "usage": {"total_tokens": 10},
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"message": message, "type": "invalid_request_error"}}
