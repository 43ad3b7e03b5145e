"""Stored values: a versioned JSON encoding of a full ranking, checked when read back."""

from __future__ import annotations

import json
from math import isfinite

from rerankit import Ranking

__all__ = ["VALUE_VERSION", "CorruptEntry", "encode_ranking", "decode_ranking"]

#: Bumped whenever the layout changes; an entry of another version reads as corrupt.
VALUE_VERSION = 1


class CorruptEntry(ValueError):
    """A stored value that is not a valid ranking for the call (read as a miss)."""


def encode_ranking(ranking: Ranking, score_kind: str) -> bytes:
    """`{"v": 1, "kind": score_kind, "scores": [[index, score], ...]}` as compact UTF-8.

    Only the scores and what they mean: the response's id is new for each answer, and
    `meta.usage` of a cached answer stays empty (nothing was billed for it).
    """
    scores = [[int(index), float(score)] for index, score in ranking.scores]
    value = {"v": VALUE_VERSION, "kind": score_kind, "scores": scores}
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def decode_ranking(data: bytes, *, size: int, score_kind: str) -> Ranking:
    """The ranking stored in `data` for a call of `size` documents; `CorruptEntry` if not.

    Checked as strictly as the core checks a provider's answer (every document scored
    once, finite scores), so a damaged entry is a miss rather than a failed call.
    """
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptEntry(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict) or value.get("v") != VALUE_VERSION:
        raise CorruptEntry(f"not a version {VALUE_VERSION} entry")
    if value.get("kind") != score_kind:
        raise CorruptEntry(f"scores of kind {value.get('kind')!r}, the call's are {score_kind!r}")
    pairs = value.get("scores")
    if not isinstance(pairs, list) or len(pairs) != size:
        raise CorruptEntry(f"not {size} scores")
    seen: set[int] = set()
    scores: list[tuple[int, float]] = []
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            raise CorruptEntry("a score is not an [index, score] pair")
        index, score = pair
        if type(index) is not int or not 0 <= index < size or index in seen:
            raise CorruptEntry(f"index {index!r} is out of range or repeated")
        if type(score) is not float or not isfinite(score):
            raise CorruptEntry(f"score {score!r} is not a finite number")
        seen.add(index)
        scores.append((index, score))
    return Ranking(scores=scores)
