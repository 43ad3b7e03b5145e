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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._warn import warn
from .provider import ScoreKind
from .validation import DocumentInput, check_documents, check_query, check_top_n

__all__ = [
    "Document",
    "RerankResult",
    "RerankMeta",
    "RerankResponse",
    "RerankAnswer",
    "RerankRequest",
]

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


@dataclass(slots=True)
class RerankAnswer:
    """A call's answer as plain data, before any pydantic model is built.

    `Client.rerank_answer` and `AsyncClient.rerank_answer` return one: the same call as
    `rerank`, every check included, minus building the `RerankResponse` (a model per
    result), which `response()` does on demand, once. For code that turns the answer
    into its own JSON or objects at once, as the proxy does (docs/api.md).
    """

    #: The response id (the upstream's, or a new one).
    id: str | None
    #: The model string the caller asked for (or the fallback that answered).
    model: str
    #: `(index, score)` pairs, best first, cut to `top_n`, normalised when asked.
    scores: list[tuple[int, float]]
    #: The caller's documents when the call returns them (`return_documents=True`), as
    #: given: `scores` indexes them. None otherwise.
    documents: Sequence[DocumentInput] | None
    #: `RerankMeta`'s fields as a dict: `provider`, `score_kind`, `usage`, `attempts`, ...
    meta: dict[str, Any]
    _response: RerankResponse | None = field(default=None, init=False, repr=False, compare=False)

    def results(self) -> list[dict[str, Any]]:
        """The results as plain dicts, best first: `index`, `relevance_score`, and
        `document` (`{"text": ...}`, or the caller's object) when the call returns them."""
        originals = self.documents
        if originals is None:
            return [{"index": index, "relevance_score": score} for index, score in self.scores]
        # A document given as text (the common case) becomes {"text": ...} in line.
        return [
            {
                "index": index,
                "relevance_score": score,
                "document": {"text": original}
                if type(original := originals[index]) is str
                else _document(original),
            }
            for index, score in self.scores
        ]

    def response(self) -> RerankResponse:
        """The `RerankResponse` of this answer, built on the first call (then reused)."""
        response = self._response
        if response is None:
            # One pydantic-core validation of plain data costs a third of 2n+2
            # `model_construct` calls (benchmarks: the sync per-call scenario).
            response = self._response = _VALIDATOR.validate_python(
                {"id": self.id, "model": self.model, "results": self.results(), "meta": self.meta}
            )
        return response


def _document(original: DocumentInput) -> dict[str, Any]:
    if isinstance(original, str):
        return {"text": original}
    return dict(original)


_VALIDATOR = RerankResponse.__pydantic_validator__
#: The `score_kind` values `RerankMeta` accepts.
SCORE_KINDS = frozenset(get_args(ScoreKind))


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
