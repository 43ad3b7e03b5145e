"""The provider contract suite (rerankit.testing) run against the Voyage provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_voyage import VoyageProvider


class TestVoyageContract(ProviderContract):
    provider = VoyageProvider()
    prefix = "voyage"
    model = "rerank-2.5"
    plugin = "rerankit_voyage"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_k") or len(scores)
        return {
            "object": "list",
            "data": [{"relevance_score": s, "index": i} for i, s in scores[:cut]],
            "model": request.json["model"],
            "usage": {"total_tokens": 10},
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}
