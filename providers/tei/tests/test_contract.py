"""The provider contract suite (rerankit.testing) run against the Tei provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_tei import TeiProvider


class TestTeiContract(ProviderContract):
    provider = TeiProvider()
    prefix = "tei"
    model = "BAAI/bge-reranker-base"
    plugin = "rerankit_tei"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        return [{"index": i, "score": s} for i, s in scores]

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message, "error_type": "Validation"}
