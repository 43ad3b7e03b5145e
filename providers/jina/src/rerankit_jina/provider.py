"""The Jina AI provider: `POST https://api.jina.ai/v1/rerank`, Cohere-v1-like wire.

Request `{"model", "query", "documents", "top_n"?, "return_documents": false}`; answer
`{"model", "usage", "results": [{"index", "relevance_score", "document"?}]}`.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["JinaProvider", "WIRE"]

WIRE = RerankWire(
    name="Jina AI",
    default_base="https://api.jina.ai",
    path="/v1/rerank",
    api_key_env="JINA_API_KEY",
    api_base_env=("JINA_API_BASE",),
    key_required=True,
    score_kind="probability",
    # No documented per-request limit; jina-reranker-v3 is listwise (a document's score
    # depends on the others in the request), so rerankit does not split on its own.
    max_documents_per_request=None,
)


class JinaProvider(CohereStyleProvider):
    """Jina AI reranking (`jina_ai/<model>`); scores are in 0..1."""

    wire: ClassVar[RerankWire] = WIRE
