"""`local/bm25`: Okapi BM25 over the call's own documents, computed in-process."""

from __future__ import annotations

from typing import ClassVar

from rerankit.errors import InvalidModelError, InvalidParameterError
from rerankit.provider import LocalProvider, Param, ProviderRequest, Ranking, ScoreKind

from .bm25 import BM25Params, bm25_scores

__all__ = ["LocalBM25Provider", "MODELS"]

MODELS = ("bm25",)


class LocalBM25Provider(LocalProvider):
    """BM25 lexical reranking: no key, no network. Scores are BM25 scores (>= 0)."""

    name: ClassVar[str] = "local"
    score_kind: ClassVar[ScoreKind] = "bm25"
    known_models: ClassVar[tuple[str, ...]] = MODELS
    params: ClassVar[dict[str, Param]] = {
        "k1": Param((int, float), "Term-frequency saturation (default 1.5).", minimum=0),
        "b": Param(
            (int, float), "Length normalisation, 0..1 (default 0.75).", minimum=0, maximum=1
        ),
    }

    def rerank(self, request: ProviderRequest) -> Ranking:
        """Score every document against the query with BM25."""
        if request.model not in MODELS:
            raise InvalidModelError(
                f"Unknown local model {request.model!r}; available: "
                + ", ".join(f"local/{m}" for m in MODELS)
            )
        k1, b = request.params.get("k1", 1.5), request.params.get("b", 0.75)
        try:
            params = BM25Params(k1=k1, b=b)
        except (ValueError, OverflowError) as exc:  # NaN, infinity, out of range
            name = "k1" if " k1 " in str(exc) else "b"
            raise InvalidParameterError(f"{exc}.", parameter=name) from None
        scores = bm25_scores(request.query, request.documents, params)
        return Ranking(list(enumerate(scores)))
