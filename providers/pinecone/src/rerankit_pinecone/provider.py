"""The Pinecone Inference provider: `POST https://api.pinecone.io/rerank`.

Headers `Api-Key: <key>` and `X-Pinecone-API-Version: 2025-10`. Request `{"model",
"query", "documents": [{"text"}], "top_n"?, "return_documents": false,
"parameters": {"truncate"}?}`; answer `{"model", "data": [{"index", "score",
"document"?}], "usage": {"rerank_units"}}`.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit import Param
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["PineconeProvider", "WIRE", "API_VERSION"]

#: The Pinecone API version requested (sent as `X-Pinecone-API-Version`).
API_VERSION = "2025-10"

WIRE = RerankWire(
    name="Pinecone",
    default_base="https://api.pinecone.io",
    path="/rerank",
    api_key_env="PINECONE_API_KEY",
    api_base_env=("PINECONE_API_BASE",),
    key_required=True,
    auth_header="Api-Key",
    auth_scheme=None,
    headers={"X-Pinecone-API-Version": API_VERSION},
    documents_as_objects=True,
    results_keys=("data",),
    score_key="score",
    params={
        "truncate": Param(
            str,
            "'END' (default) cuts over-long pairs; 'NONE' makes them an error.",
            choices=("END", "NONE"),
        ),
    },
    param_fields={"truncate": "parameters.truncate"},
    score_kind="probability",
    # The smallest per-model limit Pinecone documents (bge-reranker-v2-m3 and
    # pinecone-rerank-v0: 100; cohere-rerank-3.5: 200).
    max_documents_per_request=100,
)


class PineconeProvider(CohereStyleProvider):
    """Pinecone hosted reranking (`pinecone/bge-reranker-v2-m3`); scores in 0..1."""

    wire: ClassVar[RerankWire] = WIRE
