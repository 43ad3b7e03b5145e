"""The Pinecone Inference provider: `POST https://api.pinecone.io/rerank`.

Headers `Api-Key: <key>` and `X-Pinecone-API-Version: 2026-07` (or the `api_version`
given). Request `{"model", "query", "documents": [{"text"}], "top_n"?,
"return_documents": false, "parameters": {"truncate"}?}`; answer `{"model", "data":
[{"index", "score", "document"?}], "usage": {"rerank_units"}}`.

Pinecone supports each stable API version for at least 12 months and answers a request
without the header with its oldest supported version, so the version is pinned and can be
moved per call (`api_version="2026-10"`) or per provider (`PineconeProvider(api_version=)`)
without a release of this plugin.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, ClassVar

from rerankit import Param, ProviderRequest
from rerankit.declarative import CohereStyleProvider, RerankWire
from rerankit.errors import InvalidParameterError

__all__ = ["PineconeProvider", "WIRE", "API_VERSION", "VERSION_HEADER"]

#: The Pinecone API version requested by default: the newest stable version seen in
#: Pinecone's API reference when this was written (the rerank schema is unchanged since
#: 2025-10).
API_VERSION = "2026-07"
#: The header that carries it.
VERSION_HEADER = "X-Pinecone-API-Version"
#: `YYYY-MM`, optionally with a suffix such as `.alpha`; nothing that could break the header.
_VERSION_FORM = re.compile(r"\d{4}-\d{2}(\.[a-z]{1,16})?")

WIRE = RerankWire(
    name="Pinecone",
    default_base="https://api.pinecone.io",
    path="/rerank",
    api_key_env="PINECONE_API_KEY",
    # rerankit's name, then the official SDK's (a host, `https://` implied).
    api_base_env=("PINECONE_API_BASE", "PINECONE_CONTROLLER_HOST"),
    key_required=True,
    auth_header="Api-Key",
    auth_scheme=None,
    documents_as_objects=True,
    results_keys=("data",),
    score_key="score",
    params={
        "truncate": Param(
            str,
            "'END' (default) cuts over-long pairs; 'NONE' makes them an error.",
            choices=("END", "NONE"),
        ),
        "api_version": Param(
            str, f"The {VERSION_HEADER} header for this call, e.g. '2026-10'; not in the body."
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

    def __init__(self, *, api_version: str = API_VERSION) -> None:
        super().__init__()
        self.api_version = _checked_version(api_version)

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """The base as given; a bare host (the SDK's `PINECONE_CONTROLLER_HOST` form) is https."""
        base = request.api_base
        if base and "://" not in base:
            request = replace(request, api_base=f"https://{base.strip()}")
        return super().endpoint(request, wire)

    def headers(self, request: ProviderRequest, wire: RerankWire, url: str) -> dict[str, str]:
        """The key as `Api-Key` plus the API version (the call's, else the provider's)."""
        headers = super().headers(request, wire, url)
        chosen = request.params.get("api_version")
        headers[VERSION_HEADER] = self.api_version if chosen is None else _checked_version(chosen)
        return headers

    def body(self, request: ProviderRequest, wire: RerankWire) -> dict[str, Any]:
        """The JSON body; `api_version` travels in the header only."""
        params = {k: v for k, v in request.params.items() if k != "api_version"}
        return super().body(replace(request, params=params), wire)


def _checked_version(value: str) -> str:
    if not _VERSION_FORM.fullmatch(value):
        raise InvalidParameterError(
            f"Pinecone api_version must look like '2026-07' (YYYY-MM, optionally with a "
            f"suffix such as '.alpha'); got {value!r}.",
            parameter="api_version",
        )
    return value
