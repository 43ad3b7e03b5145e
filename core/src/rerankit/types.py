"""The unified request and response types (pydantic v2).

The JSON form of a `RerankResponse` is Cohere's rerank shape:

```json
{"id": "...", "model": "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2",
 "results": [{"index": 2, "relevance_score": 6.828125, "document": {"text": "..."}}],
 "meta": {"provider": "nvidia_nim", "score_kind": "logit"}}
```
"""

from __future__ import annotations

import os
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._warn import warn
from .provider import ScoreKind
from .validation import DocumentInput, check_documents, check_query, check_top_n

__all__ = ["Document", "RerankResult", "RerankMeta", "RerankResponse", "RerankRequest"]

#: Frames of pydantic's own (`BaseModel.__init__`) are walked over to find the caller.
_PYDANTIC_DIR = os.path.dirname(pydantic.__file__) + os.sep


class Document(BaseModel):
    """A ranked document. Fields of a document given as an object are kept beside `text`."""

    model_config = ConfigDict(extra="allow")

    text: str


class RerankResult(BaseModel):
    """One document's place: its index in the request, its score, and (optionally) itself."""

    index: int
    relevance_score: float
    document: Document | None = None


class RerankMeta(BaseModel):
    """About the call: which provider answered, what its scores mean, usage it reported.

    `attempts` counts the upstream requests the answering model needed (retries and chunks
    included; 0 for a local provider); `chunks` is how many requests a large call was
    split into; `fallbacks_tried` lists the models that failed before the one that
    answered (`model`, `error`, `status_code`, `attempts`), when fallbacks were given;
    `cached` is True when a cache plugin answered.
    """

    model_config = ConfigDict(extra="allow")

    provider: str
    score_kind: ScoreKind = "unknown"
    usage: dict[str, Any] | None = None
    attempts: int | None = None
    chunks: int | None = None
    fallbacks_tried: list[dict[str, Any]] | None = None
    #: True when a life-cycle plugin (a cache) answered without calling the provider.
    cached: bool | None = None


class RerankResponse(BaseModel):
    """The ranked documents, best first."""

    id: str | None = None
    model: str | None = None
    results: list[RerankResult]
    #: Always set: which provider answered, what its scores mean, attempts, usage.
    meta: RerankMeta


class RerankRequest(BaseModel):
    """Deprecated: a rerank call as data. Nothing in rerankit takes it; removed in 0.4.0.

    Creating one warns (`DeprecationWarning`). Keep the call's arguments in your own type
    and pass them to `rerank`; `params` held provider-specific parameters.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    query: str
    documents: list[DocumentInput]
    top_n: int | None = Field(default=None, strict=True)
    return_documents: bool = Field(default=True, strict=True)
    params: dict[str, Any] = Field(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        warn(
            "rerankit.RerankRequest is deprecated: nothing in rerankit takes it, and it is "
            "removed in 0.4.0. Pass the call's arguments to rerank() instead.",
            DeprecationWarning,
            skip=(_PYDANTIC_DIR,),
        )

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return check_query(value)

    @field_validator("documents")
    @classmethod
    def _documents(cls, value: list[DocumentInput]) -> list[DocumentInput]:
        check_documents(value)
        return value

    @field_validator("top_n")
    @classmethod
    def _top_n(cls, value: int | None) -> int | None:
        return check_top_n(value)
