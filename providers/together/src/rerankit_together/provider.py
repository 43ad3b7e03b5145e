"""The Together AI provider: `POST https://api.together.ai/v1/rerank`, Cohere-v1 wire.

Request `{"model", "query", "documents", "top_n"?, "return_documents": false}`; answer
`{"object": "rerank", "id", "model", "results": [{"index", "relevance_score",
"document"?}], "usage"}`.

The host and `TOGETHER_BASE_URL` are the official SDK's (`together-py`, whose default
base is `https://api.together.ai/v1`); `api.together.xyz` still answers, via `api_base=`.
Rerank models run on dedicated endpoints: the model string is the endpoint's model name.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["TogetherProvider", "WIRE"]

WIRE = RerankWire(
    name="Together AI",
    default_base="https://api.together.ai",
    path="/v1/rerank",
    api_key_env="TOGETHER_API_KEY",
    # rerankit's and LiteLLM's names, then the official SDK's.
    api_base_env=("TOGETHER_API_BASE", "TOGETHERAI_API_BASE", "TOGETHER_BASE_URL"),
    key_required=True,
    # Together documents no score range (its examples fall in 0..1).
    score_kind="unknown",
    max_documents_per_request=None,  # none documented
)


class TogetherProvider(CohereStyleProvider):
    """Together AI reranking (`together_ai/<org>/<model>`)."""

    wire: ClassVar[RerankWire] = WIRE
