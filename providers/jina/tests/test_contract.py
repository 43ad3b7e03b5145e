"""The provider contract suite (rerankit.testing) run against the Jina provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_jina import JinaProvider


class TestJinaContract(ProviderContract):
    provider = JinaProvider()
    prefix = "jina_ai"
    model = "jina-reranker-v2-base-multilingual"
    plugin = "rerankit_jina"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "model": request.json["model"],
            "usage": {"total_tokens": 10},
            "results": [{"index": i, "relevance_score": s} for i, s in scores[:cut]],
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"detail": message}
