"""The Voyage AI provider: `POST https://api.voyageai.com/v1/rerank`.

Request `{"model", "query", "documents", "top_k"?, "return_documents": false,
"truncation"?}`; answer `{"object", "data": [{"index", "relevance_score",
"document"?}], "model", "usage": {"total_tokens"}}` (`document` is a plain string).

Keys issued through MongoDB Atlas start with `al-` and are valid only on
`https://ai.mongodb.com/v1`: without an explicit base such a key is sent there, as the
official SDK (`voyageai.util.get_default_base_url`) does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rerankit import Param, ProviderRequest
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["VoyageProvider", "WIRE", "ATLAS_BASE", "ATLAS_KEY_PREFIX"]

#: Where keys issued through MongoDB Atlas are valid.
ATLAS_BASE = "https://ai.mongodb.com"
#: How such keys start.
ATLAS_KEY_PREFIX = "al-"

WIRE = RerankWire(
    name="Voyage AI",
    default_base="https://api.voyageai.com",
    path="/v1/rerank",
    api_key_env="VOYAGE_API_KEY",
    api_base_env=("VOYAGE_API_BASE",),
    key_required=True,
    top_n_field="top_k",
    results_keys=("data",),
    params={
        "truncation": Param(
            bool,
            "True (Voyage's default): cut over-long query/documents to fit the context; "
            "False: an over-long input is an error.",
        ),
    },
    score_kind="probability",
    max_documents_per_request=1000,
)


class VoyageProvider(CohereStyleProvider):
    """Voyage AI reranking (`voyage/<model>`, e.g. `voyage/rerank-2.5`); scores in 0..1."""

    wire: ClassVar[RerankWire] = WIRE

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """An Atlas key (`al-...`) without an explicit base goes to `ai.mongodb.com/v1`."""
        if request.api_base is None and (request.api_key or "").startswith(ATLAS_KEY_PREFIX):
            request = replace(request, api_base=ATLAS_BASE)
        return super().endpoint(request, wire)
