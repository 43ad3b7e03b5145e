"""Score normalisation: `normalize=None | "sigmoid" | "minmax"` on calls, clients and proxy groups.

Providers answer on their own scales (`ScoreKind`): a logit from one and a probability from
another cannot share a threshold. Normalisation maps an answer onto a common scale after
sorting and `top_n`, so the ranking never changes, only the numbers:

- `None`: the provider's scores, untouched (the default).
- `"sigmoid"`: logits become probabilities (`1 / (1 + e^-x)`); probabilities are left as
  they are. BM25 and unknown scores have no probability reading: they are left as they
  are, with a `RerankitWarning` suggesting `"minmax"`.
- `"minmax"`: scaled to 0..1 within the answer (its best result 1.0, its worst 0.0; all
  equal, or a single result: 1.0). Only comparable within one answer; kind `"minmax"`.

`meta.score_kind` says what the scores are after it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

from ._warn import warn
from .errors import InvalidParameterError
from .provider import Provider, ScoreKind

if TYPE_CHECKING:
    from ._pipeline import Prepared

__all__ = [
    "Normalize",
    "NORMALIZE_CHOICES",
    "check_normalize",
    "normalized_kind",
    "normalize",
    "warn_mixed_kinds",
]

Normalize = Literal["sigmoid", "minmax"] | None
NORMALIZE_CHOICES: tuple[str, ...] = get_args(Literal["sigmoid", "minmax"])


def check_normalize(value: object) -> Normalize:
    """`value` when it is a normalisation rerankit implements, else `InvalidParameterError`."""
    if value is None or value in NORMALIZE_CHOICES:
        return value  # type: ignore[return-value]
    allowed = ", ".join(repr(c) for c in (None, *NORMALIZE_CHOICES))
    raise InvalidParameterError(
        f"normalize must be one of {allowed}; got {type(value).__name__} {value!r}.",
        parameter="normalize",
    )


def normalized_kind(kind: ScoreKind, how: Normalize) -> ScoreKind:
    """What scores of `kind` are after `how`."""
    if how == "minmax":
        return "minmax"
    if how == "sigmoid" and kind == "logit":
        return "probability"
    return kind


def normalize(
    scores: list[tuple[int, float]], kind: ScoreKind, how: Normalize
) -> list[tuple[int, float]]:
    """`scores` (index, score pairs) mapped by `how`; the same list object when unchanged."""
    if how is None or not scores:
        return scores
    if how == "sigmoid":
        if kind == "logit":
            return [(index, _sigmoid(score)) for index, score in scores]
        if kind in ("bm25", "unknown"):
            warn(
                f"normalize='sigmoid' left {kind} scores unchanged: they are not logits. "
                "Use normalize='minmax' to scale them to 0..1 within the answer.",
            )
        return scores
    return _minmax(scores)


def warn_mixed_kinds(
    warned: set[tuple[str, str]],
    primary_model: str,
    primary: Provider,
    answered: Prepared,
    how: Normalize,
) -> None:
    """Warn once per (primary, fallback) pair when a fallback's scores read differently.

    A threshold written against the primary's scale silently misfires on another one;
    `how` may already put both on one scale (`"minmax"` always does).
    """
    fallback_model = answered.request.full_model
    theirs = normalized_kind(answered.provider.score_kind_for(answered.request), how)
    # The primary's class-level kind: its call's parameters went only to its own request.
    ours = normalized_kind(primary.score_kind, how)
    if theirs == ours or (primary_model, fallback_model) in warned:
        return
    warned.add((primary_model, fallback_model))
    warn(
        f"Fallback {fallback_model!r} answered with {theirs} scores where {primary_model!r} "
        f"gives {ours} scores: thresholds written for one do not fit the other. Check "
        "meta.score_kind, or pass normalize='sigmoid' or 'minmax' to put both on one scale.",
    )


def _sigmoid(x: float) -> float:
    # Two forms so that exp never overflows: e^-x for x >= 0, e^x below.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _minmax(scores: list[tuple[int, float]]) -> list[tuple[int, float]]:
    finite = [score for _, score in scores if math.isfinite(score)]
    # Halves, so that the spread of two huge finite scores cannot overflow to inf.
    low = min(finite, default=0.0) / 2
    spread = max(finite, default=0.0) / 2 - low
    out: list[tuple[int, float]] = []
    for index, score in scores:
        if not math.isfinite(score):  # only +-inf: NaN never gets past the ranking checks
            value = 1.0 if score > 0 else 0.0
        elif spread == 0.0:
            value = 1.0
        else:
            value = (score / 2 - low) / spread
        out.append((index, value))
    return out
