"""The provider contract suite (rerankit.testing) run against the Cohere provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_cohere import CohereProvider


class TestCohereContract(ProviderContract):
    provider = CohereProvider()
    prefix = "cohere"
    model = "rerank-v3.5"
    plugin = "rerankit_cohere"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "id": "contract",
            "results": [{"index": i, "relevance_score": s} for i, s in scores[:cut]],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        }


class TestCohereV1Contract(TestCohereContract):
    """`cohere/v1/<model>` speaks Cohere's v1 wire (`/v1/rerank`)."""

    model = "v1/rerank-english-v3.0"
