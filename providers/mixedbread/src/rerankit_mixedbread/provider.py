"""The Mixedbread provider: `POST https://api.mixedbread.com/v1/reranking`.

Request `{"model", "query", "input", "top_k"?, "return_input": false,
"rewrite_query"?}`; answer `{"object": "list", "model", "data": [{"index", "score",
"input"?}], "usage", "top_k", "return_input"}`.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit import Param
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["MixedbreadProvider", "WIRE"]

WIRE = RerankWire(
    name="Mixedbread",
    default_base="https://api.mixedbread.com",
    path="/v1/reranking",
    api_key_env="MXBAI_API_KEY",
    # rerankit's name, then the official SDK's.
    api_base_env=("MXBAI_API_BASE", "MIXEDBREAD_BASE_URL"),
    key_required=True,
    documents_field="input",
    top_n_field="top_k",
    return_documents_field="return_input",
    results_keys=("data",),
    score_key="score",
    params={
        "rewrite_query": Param(bool, "Let Mixedbread rewrite the query before ranking."),
    },
    # The API reference states no score range (its examples fall in 0..1). Its limit:
    # `input` holds 1 to 1000 items.
    score_kind="unknown",
    max_documents_per_request=1000,
)


class MixedbreadProvider(CohereStyleProvider):
    """Mixedbread reranking (`mixedbread/mixedbread-ai/mxbai-rerank-large-v2`)."""

    wire: ClassVar[RerankWire] = WIRE
