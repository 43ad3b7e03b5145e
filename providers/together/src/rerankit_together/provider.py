"""The Together AI provider: `POST https://api.together.xyz/v1/rerank`, Cohere-v1 wire.

Request `{"model", "query", "documents", "top_n"?, "return_documents": false}`; answer
`{"object": "rerank", "id", "model", "results": [{"index", "relevance_score",
"document"?}], "usage"}`.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["TogetherProvider", "WIRE"]

WIRE = RerankWire(
    name="Together AI",
    default_base="https://api.together.xyz",
    path="/v1/rerank",
    api_key_env="TOGETHER_API_KEY",
    api_base_env=("TOGETHER_API_BASE", "TOGETHERAI_API_BASE"),
    key_required=True,
    # Together documents no score range (its examples fall in 0..1).
    score_kind="unknown",
    max_documents_per_request=None,  # none documented
)


class TogetherProvider(CohereStyleProvider):
    """Together AI reranking (`together_ai/<org>/<model>`)."""

    wire: ClassVar[RerankWire] = WIRE
