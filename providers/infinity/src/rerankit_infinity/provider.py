"""The Infinity provider (self-hosted): `POST {base}/rerank`, Cohere-v1-like wire.

Request `{"model", "query", "documents", "top_n"?, "return_documents": false,
"raw_scores"?}`; answer `{"object": "rerank", "results": [{"index",
"relevance_score", "document"?}], "model", "usage", "id", "created"}` (older builds say
`data` instead of `results`; `document` may be a string or null).
"""

from __future__ import annotations

from typing import ClassVar

from rerankit import Param
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["InfinityProvider", "WIRE"]

WIRE = RerankWire(
    name="Infinity",
    default_base=None,
    path="/rerank",
    api_key_env="INFINITY_API_KEY",
    api_base_env=("INFINITY_API_BASE",),
    results_keys=("results", "data"),
    params={
        "raw_scores": Param(bool, "Return raw logits instead of sigmoid probabilities."),
    },
    score_kind="probability",
    raw_scores_param="raw_scores",
    max_documents_per_request=2048,
)


class InfinityProvider(CohereStyleProvider):
    """An Infinity server's reranker (`infinity/<model>`, `api_base` required)."""

    wire: ClassVar[RerankWire] = WIRE
