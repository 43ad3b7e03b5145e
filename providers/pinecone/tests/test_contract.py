"""The provider contract suite (rerankit.testing) run against the Pinecone provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_pinecone import PineconeProvider


class TestPineconeContract(ProviderContract):
    provider = PineconeProvider()
    prefix = "pinecone"
    model = "bge-reranker-v2-m3"
    plugin = "rerankit_pinecone"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "model": request.json["model"],
            "data": [{"index": i, "score": s} for i, s in scores[:cut]],
            "usage": {"rerank_units": 1},
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": "INVALID_ARGUMENT", "message": message}, "status": status}
