"""The I/O-free steps of one call, shared by the sync and the async client.

`prepare` validates the input, routes the model, resolves credentials, checks the
provider's parameters and splits the documents into per-request chunks (`_chunking`).
`finish` turns the provider's `Ranking` into the unified response
(index checks, sort, `top_n`, documents) in this one place. `error_for_status` maps an
upstream error answer to a typed error.
"""

from __future__ import annotations

import email.utils
import math
import operator
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._chunking import checked_scores, chunk_ranges, chunk_request, merge
from ._normalize import Normalize, normalize, normalized_kind
from ._warn import warn
from .errors import (
    APIStatusError,
    InvalidParameterError,
    ProviderError,
    RerankitError,
    RerankitWarning,  # re-exported: `rerankit._pipeline.RerankitWarning` was its old home
    status_error,
)
from .provider import HttpProvider, Provider, ProviderRequest, Ranking
from .registry import ProviderRegistry
from .types import SCORE_KINDS, RerankAnswer
from .validation import DocumentInput, check_documents, check_flag, check_query, check_top_n
from .wire import HttpRequest, HttpResponse, url_credentials

__all__ = [
    "Part",
    "Prepared",
    "RerankitWarning",
    "prepare",
    "check_limit",
    "rank_part",
    "merged",
    "finish",
    "error_for_status",
    "parse_retry_after",
    "MAX_RETRY_AFTER",
    "redact",
    "call_secrets",
    "scrub",
]

#: Longest wait an upstream's `Retry-After` is taken at its word for, in seconds. The
#: value is the upstream's to choose (`inf`, `1e999`, a date in the year 9999); the retry
#: policy caps it further at the call's deadline.
MAX_RETRY_AFTER = 60.0

#: The unified parameters every provider takes; everything else is provider-specific.
UNIFIED_PARAMS = ("top_n", "return_documents", "api_key", "api_base")


@dataclass(slots=True)
class Part:
    """One upstream request of a call: which documents it carries and what to send."""

    documents: range
    request: ProviderRequest
    http: HttpRequest | None


@dataclass(slots=True)
class Prepared:
    """One validated call, ready to send (or to run, for a local provider).

    `parts` holds one `Part` per chunk: a single one unless the call has more documents
    than the per-request limit.
    """

    provider: Provider
    request: ProviderRequest
    documents: Sequence[DocumentInput]
    parts: list[Part]


def prepare(
    registry: ProviderRegistry,
    model: str,
    query: str,
    documents: Sequence[DocumentInput],
    *,
    top_n: int | None,
    return_documents: bool,
    api_key: str | None,
    api_base: str | None,
    drop_params: bool,
    params: Mapping[str, Any],
    max_documents_per_request: int | None = None,
    warn_dropped: bool = True,
) -> Prepared:
    """Validate and route one call; build the upstream request(s) for an HTTP provider.

    `max_documents_per_request` overrides the provider's own limit (None: keep it).
    """
    prefix, provider, rest = registry.resolve(model)
    texts = check_documents(documents)
    request = ProviderRequest(
        prefix=prefix,
        model=rest,
        query=check_query(query),
        documents=texts,
        top_n=check_top_n(top_n),
        return_documents=check_flag("return_documents", return_documents),
        params=_check_params(provider, prefix, params, drop_params, warn_dropped),
        api_key=api_key or _env(provider.api_key_env) or _first_env(provider.api_key_env_aliases),
        api_base=api_base or _first_env(provider.api_base_env),
    )
    limit = check_limit(max_documents_per_request)
    if limit is None:
        limit = provider.max_documents_per_request
    ranges = chunk_ranges(len(texts), limit)
    requests = [request] if len(ranges) == 1 else [chunk_request(request, r) for r in ranges]
    if isinstance(provider, HttpProvider):
        try:
            parts = [
                Part(r, q, provider.build_request(q)) for r, q in zip(ranges, requests, strict=True)
            ]
        except RerankitError as error:  # e.g. a bad base URL, quoted with its password
            raise scrub(error, call_secrets(request)) from None
    else:
        parts = [Part(r, q, None) for r, q in zip(ranges, requests, strict=True)]
    return Prepared(provider, request, documents, parts)


def check_limit(value: object, name: str = "max_documents_per_request") -> int | None:
    """A per-request document limit or concurrency: None or a whole number >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(
            f"{name} must be a whole number >= 1 or None, got {type(value).__name__} {value!r}.",
            parameter=name,
        )
    return value


def rank_part(prepared: Prepared, part: Part, ranking: Ranking) -> Ranking:
    """Check one chunk's ranking against the documents it was sent (before merging)."""
    if len(prepared.parts) == 1:
        return ranking  # `finish` checks a single-chunk call
    request = prepared.request
    ranking.scores = checked_scores(
        ranking,
        size=len(part.documents),
        top_n=request.top_n,
        provider=prepared.provider.name,
        model=request.full_model,
    )
    return ranking


def merged(prepared: Prepared, rankings: Sequence[Ranking]) -> Ranking:
    """The call's ranking from its chunks' rankings, indices into the caller's documents."""
    if len(rankings) == 1:
        return rankings[0]
    return merge([p.documents for p in prepared.parts], rankings)


def finish(
    prepared: Prepared,
    ranking: Ranking,
    extra_meta: Mapping[str, Any] | None = None,
    normalize_to: Normalize = None,
) -> RerankAnswer:
    """Check the ranking, sort it best first, cut to `top_n`, normalise: the call's answer.

    `extra_meta` adds fields to the response's `meta` (attempts, chunks, fallbacks tried);
    `normalize_to` maps the scores (`_normalize`), and `meta.score_kind` follows it.
    """
    request = prepared.request
    if len(prepared.parts) > 1:
        scores = list(ranking.scores)  # each chunk was checked by `rank_part` before merging
    else:
        scores = checked_scores(
            ranking,
            size=len(request.documents),
            top_n=request.top_n,
            provider=prepared.provider.name,
            model=request.full_model,
        )
    # Best first, ties by index: sort by index, then stably by score, descending (Python's
    # reverse sort keeps equal keys in order). Cheaper than a (-score, index) key tuple.
    scores.sort()
    scores.sort(key=_SCORE, reverse=True)
    if request.top_n is not None:
        del scores[request.top_n :]
    kind = prepared.provider.score_kind_for(request)
    if normalize_to is not None:
        scores = normalize(scores, kind, normalize_to)
        kind = normalized_kind(kind, normalize_to)
    answer = RerankAnswer(
        ranking.id or _new_id(),
        request.full_model,
        scores,
        prepared.documents if request.return_documents else None,
        {
            "provider": request.prefix,
            "score_kind": kind,
            "usage": finite_usage(ranking.usage) if ranking.usage else ranking.usage,
            **(extra_meta or {}),
        },
    )
    if type(answer.id) is not str or kind not in SCORE_KINDS:
        # A provider's odd id or score kind: refused by `RerankResponse`'s validation,
        # whether or not the caller asked for the model.
        answer.response()
    return answer


def error_for_status(prepared: Prepared, response: HttpResponse) -> APIStatusError:
    """The typed error for an upstream answer with a non-2xx status."""
    provider = prepared.provider
    message = provider.error_message(response) if isinstance(provider, HttpProvider) else None
    # Some upstreams echo the key they rejected ("invalid api key: sk-..."); never keep it.
    key = prepared.request.api_key
    return status_error(
        response.status_code,
        provider=provider.name,
        model=prepared.request.full_model,
        body=redact(response.text, key),
        upstream_message=redact(message, key) if message is not None else None,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date.

    Defensive, since the upstream writes it: garbage and NaN give None (no advice), a
    negative wait or a past date 0, and anything longer than `MAX_RETRY_AFTER` (`inf`,
    `1e999`, a far-future date) `MAX_RETRY_AFTER`.
    """
    if not value:
        return None
    value = value.strip()[:64]  # a date or a number is short; do not parse a megabyte
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, OverflowError, OSError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def finite_usage(usage: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """The upstream's `usage` with what cannot be reported dropped.

    Usage is informative (token counts), so an odd value loses the field, not the
    answer: non-finite numbers (`Infinity`, `1e999`, which no JSON encoder writes),
    objects nested deeper than two levels and lists holding anything but plain values go.
    """
    kept: dict[str, Any] = {}
    for key, value in usage.items():
        if isinstance(value, Mapping):
            if depth < 1:
                kept[key] = finite_usage(value, depth + 1)
        elif isinstance(value, list | tuple):
            if all(_reportable(item) for item in value):
                kept[key] = value
        elif _reportable(value):
            kept[key] = value
    return kept


def _reportable(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def _check_params(
    provider: Provider,
    prefix: str,
    params: Mapping[str, Any],
    drop_params: bool,
    warn_dropped: bool = True,
) -> dict[str, Any]:
    accepted = provider.params
    checked: dict[str, Any] = {}
    unknown: list[str] = []
    for name, value in params.items():
        spec = accepted.get(name)
        if spec is None:
            unknown.append(name)
        elif value is not None:
            checked[name] = spec.validate(name, value)
    if unknown:
        allowed = ", ".join([*UNIFIED_PARAMS, *sorted(accepted)])
        names = ", ".join(sorted(unknown))
        if not drop_params:
            raise InvalidParameterError(
                f"Provider {prefix!r} does not accept the parameter(s) {names}. "
                f"Accepted: {allowed}. Pass drop_params=True to drop unsupported parameters.",
                parameter=sorted(unknown)[0],
            )
        if warn_dropped:
            warn(f"Dropped parameter(s) {names}: provider {prefix!r} does not accept them.")
    return checked


#: The sort key "by score", in C (a Python function here is called once per result).
_SCORE = operator.itemgetter(1)


#: Response ids need to be unique, not secret: uuid4 reads os.urandom on every call, a
#: system call that cost 10% of an async call in the profile (docs/architecture.md).
_ids = random.Random()


def _new_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` (an API key) masked."""
    return text.replace(secret, "***") if secret else text


def call_secrets(request: ProviderRequest) -> tuple[str, ...]:
    """What must never show in an error of this call: its key, its base URL's userinfo."""
    found = (request.api_key, url_credentials(request.api_base))
    return tuple(s for s in found if s)


def scrub(error: RerankitError, secrets: Sequence[str]) -> RerankitError:
    """`error` with every secret masked in its message and, for a `ProviderError`, body.

    Applied wherever an error leaves a call, whoever built it (core or provider, for a
    2xx answer as for an error status), so an upstream echoing the key cannot leak it.
    """
    if not secrets:
        return error
    if error.args and isinstance(error.args[0], str):
        message = error.args[0]
        for secret in secrets:
            message = message.replace(secret, "***")
        error.args = (message, *error.args[1:])
    if isinstance(error, ProviderError) and error.body:
        for secret in secrets:
            error.body = error.body.replace(secret, "***")
    return error


def _env(name: str | None) -> str | None:
    return (os.environ.get(name) or None) if name else None


def _first_env(names: Sequence[str]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
