"""The Cohere provider: `/v2/rerank` by default, `/v1/rerank` selectable per model string.

- `cohere/<model>` or `cohere/v2/<model>`: `POST {base}/v2/rerank` with `{"model",
  "query", "documents", "top_n"?, "max_tokens_per_doc"?, "priority"?}`; the answer
  `{"id", "results": [{"index", "relevance_score"}], "meta"}` carries no documents.
- `cohere/v1/<model>`: `POST {base}/v1/rerank` with `{"model", "query", "documents",
  "top_n"?, "return_documents": false, "max_chunks_per_doc"?}` (also what many
  Cohere-compatible servers speak).

Cohere model names contain no `/`, so a leading `v1/` or `v2/` is always a version.
The key is `api_key`, else `COHERE_API_KEY`, else `CO_API_KEY` (the official SDK's
variable). The base (`api_base`, `COHERE_API_BASE`, `CO_API_URL`, else `https://api.cohere.com`)
is the server root; the version path is appended. A base that ends in a version or a
rerank endpoint (`.../v1`, `.../v2/rerank`) is cut back to its root first: the model
string, not the base, chooses the version.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from rerankit import Param, ProviderRequest
from rerankit.declarative import CohereStyleProvider, RerankWire
from rerankit.errors import InvalidModelError

__all__ = ["CohereProvider", "V1", "V2"]

_MAX_TOKENS_PER_DOC = Param(
    int, "v2: tokens kept per document before ranking (Cohere's default 4096).", minimum=1
)
_PRIORITY = Param(int, "v2: request priority; lower values are served first.", minimum=0)
_MAX_CHUNKS_PER_DOC = Param(int, "v1: chunks a long document is split into.", minimum=1)

#: Cohere's v2 rerank wire (the default).
V2 = RerankWire(
    name="Cohere",
    default_base="https://api.cohere.com",
    path="/v2/rerank",
    api_key_env="COHERE_API_KEY",
    # The official SDK reads CO_API_KEY (and CO_API_URL for the base).
    api_key_env_aliases=("CO_API_KEY",),
    api_base_env=("COHERE_API_BASE", "CO_API_URL"),
    key_required=True,
    return_documents_field=None,  # v2 never returns documents
    params={"max_tokens_per_doc": _MAX_TOKENS_PER_DOC, "priority": _PRIORITY},
    usage_key="meta",
    score_kind="probability",
    max_documents_per_request=1000,
)

#: Cohere's v1 rerank wire (`cohere/v1/<model>`).
V1 = replace(
    V2,
    path="/v1/rerank",
    return_documents_field="return_documents",
    params={"max_chunks_per_doc": _MAX_CHUNKS_PER_DOC},
)

_VERSIONS = {"v1/": V1, "v2/": V2}
#: A base path's trailing version and endpoint, e.g. `/v1`, `/v2/rerank`, `/rerank`.
_VERSION_TAIL = re.compile(r"(/v[12])?(/rerank)?/*$")


class CohereProvider(CohereStyleProvider):
    """Cohere reranking (`cohere/rerank-v3.5`, `cohere/v1/rerank-english-v3.0`); 0..1."""

    wire: ClassVar[RerankWire] = V2
    params: ClassVar[dict[str, Param]] = {**V2.params, **V1.params}

    def wire_for(self, request: ProviderRequest) -> RerankWire:
        """v1 for `v1/<model>`, else v2."""
        return V1 if request.model.startswith("v1/") else V2

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """The version path under the base's root (a version in the base is dropped)."""
        if request.api_base:
            parts = urlsplit(request.api_base.strip())
            root = _VERSION_TAIL.sub("", parts.path)
            request = replace(request, api_base=urlunsplit(parts._replace(path=root)))
        return super().endpoint(request, wire)

    def model_name(self, request: ProviderRequest) -> str:
        """The model without its version selector."""
        for selector in _VERSIONS:
            if request.model.startswith(selector):
                name = request.model.removeprefix(selector)
                if not name:
                    raise InvalidModelError(
                        f"model {request.full_model!r} names no model after the version: "
                        f"use e.g. 'cohere/{selector}rerank-v3.5'."
                    )
                return name
        return request.model
