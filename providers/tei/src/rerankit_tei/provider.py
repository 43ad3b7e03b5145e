"""The Hugging Face text-embeddings-inference (TEI) provider: `POST {base}/rerank`.

Request `{"query", "texts", "return_text": false, "truncate"?,
"truncation_direction"?, "raw_scores"?}` (no model: a TEI server serves one; the model
part of `tei/<model>` only labels the call). Answer: a bare list
`[{"index", "score", "text"?}]` of every text (TEI has no `top_n`; rerankit cuts).
"""

from __future__ import annotations

from typing import ClassVar

from rerankit import Param
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["TeiProvider", "WIRE"]

WIRE = RerankWire(
    name="TEI",
    default_base=None,
    path="/rerank",
    api_key_env="TEI_API_KEY",
    api_base_env=("TEI_API_BASE",),
    model_field=None,
    documents_field="texts",
    top_n_field=None,
    return_documents_field="return_text",
    results_keys=(),
    score_key="score",
    usage_key=None,
    params={
        "truncate": Param(bool, "Cut inputs longer than the model's context."),
        # TEI's router enum takes both spellings (serde aliases); Right is its default.
        "truncation_direction": Param(
            str,
            "Which end to cut when truncating (TEI's default: Right).",
            choices=("Left", "Right", "left", "right"),
        ),
        "raw_scores": Param(bool, "Return raw logits instead of sigmoid probabilities."),
    },
    score_kind="probability",
    raw_scores_param="raw_scores",
    # TEI's default --max-client-batch-size: the 33rd text is rejected (413 or 422).
    max_documents_per_request=32,
)


class TeiProvider(CohereStyleProvider):
    """A TEI server's reranker (`tei/<label>`, `api_base` required); probabilities."""

    wire: ClassVar[RerankWire] = WIRE
