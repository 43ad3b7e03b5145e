"""The provider contract suite (rerankit.testing) run against the Mixedbread provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_mixedbread import MixedbreadProvider


class TestMixedbreadContract(ProviderContract):
    provider = MixedbreadProvider()
    prefix = "mixedbread"
    model = "mixedbread-ai/mxbai-rerank-large-v2"
    plugin = "rerankit_mixedbread"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_k") or len(scores)
        return {
            "object": "list",
            "model": request.json["model"],
            "data": [{"index": i, "score": s, "object": "rank_result"} for i, s in scores[:cut]],
            "usage": {"prompt_tokens": 10, "total_tokens": 10},
            "top_k": cut,
            "return_input": False,
        }
