"""Splitting a large call into per-request chunks and merging their rankings back.

A provider declares `max_documents_per_request` (NIM: 512); the caller may override it per
call or per client. A call with more documents becomes consecutive chunks of at most that
many; each chunk's `Ranking` is checked against the chunk it answered (indices in range,
none repeated, none missing) and its indices shifted back to the caller's positions. For a
scorer that scores each (query, document) pair on its own, the merged ranking equals the
one-request ranking exactly.

`top_n` is passed to every chunk: the global best `top_n` are among the union of every
chunk's best `top_n`, so a provider that forwards `top_n` upstream stays correct.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from math import isfinite, isnan
from typing import Any

from .errors import InvalidResponseError, ProviderError
from .provider import ProviderRequest, Ranking

__all__ = ["chunk_ranges", "chunk_request", "checked_scores", "merge", "describe_failed_chunk"]

#: Upstream words for "this input is too long" (NIM: "Input length 16384 exceeds maximum
#: allowed token size 8192"; others say "too long", "maximum context length", ...).
_TOO_LONG = re.compile(r"exceed|too long|too large|maximum (?:context|allowed|token)", re.I)


def chunk_ranges(count: int, limit: int | None) -> list[range]:
    """Consecutive index ranges of at most `limit` documents covering `count` documents."""
    if limit is None or count <= limit:
        return [range(count)]
    return [range(start, min(start + limit, count)) for start in range(0, count, limit)]


def chunk_request(request: ProviderRequest, part: range) -> ProviderRequest:
    """The provider request for the documents in `part` only."""
    return dataclasses.replace(request, documents=request.documents[part.start : part.stop])


def checked_scores(
    ranking: Ranking, *, size: int, top_n: int | None, provider: str, model: str
) -> list[tuple[int, float]]:
    """The ranking's (index, score) pairs, after checking them against `size` documents.

    Raises `InvalidResponseError` for an index out of range or repeated, a score that is
    not a finite number, or fewer results than documents (unless the ranking is `partial`).
    """

    seen: set[int] = set()
    scores: list[tuple[int, float]] = []
    append = scores.append
    for index, score in ranking.scores:
        # `type(...) is` first: the common case (a JSON int and float) skips the slower
        # isinstance chain, which still decides every other value (bool is rejected).
        if (
            type(index) is not int and (isinstance(index, bool) or not isinstance(index, int))
        ) or not 0 <= index < size:
            raise _bad(
                provider, model, f"index {index!r} is not a position in the {size} documents sent"
            )
        if index in seen:
            raise _bad(provider, model, f"index {index} appears more than once")
        if type(score) is float:
            value = score
        elif isinstance(score, bool) or not isinstance(score, int | float):
            raise _bad(provider, model, f"the score of index {index} is {score!r}, not a number")
        else:
            value = float(score)
        if not isfinite(value):  # NaN, Infinity, 1e999: no order, and no JSON to write
            what = "not a number" if isnan(value) else "not finite"
            raise _bad(provider, model, f"the score of index {index} is {score!r}, {what}")
        seen.add(index)
        append((index, value))
    wanted = size if not ranking.partial else min(size, top_n or size)
    if len(scores) < wanted:
        raise _bad(
            provider, model, f"{len(scores)} results for {wanted} expected; documents would be lost"
        )
    return scores


def _bad(provider: str, model: str, reason: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"{provider} returned an invalid ranking for model {model!r}: {reason}.",
        provider=provider,
        model=model,
    )


def merge(parts: Sequence[range], rankings: Sequence[Ranking]) -> Ranking:
    """One ranking over all documents from per-chunk rankings (already checked)."""
    scores: list[tuple[int, float]] = []
    for part, ranking in zip(parts, rankings, strict=True):
        offset = part.start
        scores.extend((index + offset, score) for index, score in ranking.scores)
    first = rankings[0]
    return Ranking(
        scores,
        id=first.id,
        usage=_sum_usage([r.usage for r in rankings]),
        partial=any(r.partial for r in rankings),
    )


def describe_failed_chunk(
    error: ProviderError, part: range, total: int, documents: Sequence[str]
) -> ProviderError:
    """Record in `error` which of the caller's documents its failed request carried.

    For an upstream "input too long" rejection, also name the document most likely at
    fault: the only one in the request, else the longest (by characters). Upstreams such
    as NIM report the offending length but not which passage, so this is a best guess,
    labelled as such. Attributes only: `str(error)` renders them (`ProviderError`).
    """
    error.document_range = (part.start, part.stop)
    error.document_count = total
    message = str(error.args[0]) if error.args else ""
    if error.status_code in (400, 413, 422) and _TOO_LONG.search(message):
        longest = max(part, key=lambda i: len(documents[i]))
        error.document_index = longest
        error.document_length = len(documents[longest])
    return error


def _sum_usage(usages: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Numeric usage fields added up across chunks; other fields kept from the first."""
    present = [u for u in usages if u]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    total: dict[str, Any] = {}
    for usage in present:
        for key, value in usage.items():
            previous = total.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[key] = value + previous if isinstance(previous, int | float) else value
            else:
                total.setdefault(key, value)
    return total
