"""The provider contract suite (rerankit.testing) run against the Azure AI provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_azure_ai import AzureAIProvider


class TestAzureAIContract(ProviderContract):
    provider = AzureAIProvider()
    prefix = "azure_ai"
    model = "rerank-v3.5"
    plugin = "rerankit_azure_ai"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        return {
            "id": "azure-contract",
            "results": [{"index": i, "relevance_score": s} for i, s in scores],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        }

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": "Invalid", "message": message}}
