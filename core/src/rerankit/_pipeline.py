"""The I/O-free steps of one call, shared by the sync and the async client.

`prepare` validates the input, routes the model, resolves credentials and checks the
provider's parameters. `finish` turns the provider's `Ranking` into the unified response
(index checks, sort, `top_n`, documents) in this one place. `error_for_status` maps an
upstream error answer to a typed error.
"""

from __future__ import annotations

import email.utils
import math
import os
import random
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import (
    InvalidParameterError,
    InvalidRequestError,
    InvalidResponseError,
    ProviderError,
    status_error,
)
from .provider import HttpProvider, Provider, ProviderRequest, Ranking
from .registry import ProviderRegistry
from .types import RerankResponse
from .validation import DocumentInput, check_documents, check_flag, check_query, check_top_n
from .wire import HttpRequest, HttpResponse

__all__ = ["Prepared", "RerankitWarning", "prepare", "finish", "error_for_status"]

#: The unified parameters every provider takes; everything else is provider-specific.
UNIFIED_PARAMS = ("top_n", "return_documents", "api_key", "api_base")


class RerankitWarning(UserWarning):
    """Something was done that the caller may not expect (e.g. parameters dropped)."""


@dataclass(slots=True)
class Prepared:
    """One validated call, ready to send (or to run, for a local provider)."""

    provider: Provider
    request: ProviderRequest
    documents: Sequence[DocumentInput]
    http: HttpRequest | None


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
) -> Prepared:
    """Validate and route one call; build the upstream request for an HTTP provider."""
    prefix, provider, rest = registry.resolve(model)
    texts = check_documents(documents)
    request = ProviderRequest(
        prefix=prefix,
        model=rest,
        query=check_query(query),
        documents=texts,
        top_n=check_top_n(top_n),
        return_documents=check_flag("return_documents", return_documents),
        params=_check_params(provider, prefix, params, drop_params),
        api_key=api_key or _env(provider.api_key_env),
        api_base=api_base or _first_env(provider.api_base_env),
    )
    limit = provider.max_documents_per_request
    if limit is not None and len(texts) > limit:
        raise InvalidRequestError(
            f"{len(texts)} documents exceed {provider.name}'s limit of {limit} per request; "
            f"pass at most {limit} documents per call."
        )
    http = provider.build_request(request) if isinstance(provider, HttpProvider) else None
    return Prepared(provider, request, documents, http)


def finish(prepared: Prepared, ranking: Ranking) -> RerankResponse:
    """Check the ranking, sort it best first, cut to `top_n`, attach documents."""
    request = prepared.request
    scores = _checked_scores(prepared, ranking)
    scores.sort(key=lambda pair: (-pair[1], pair[0]))
    if request.top_n is not None:
        del scores[request.top_n :]
    originals = prepared.documents
    attach = request.return_documents
    # One pydantic-core validation of plain data costs a third of 2n+2 `model_construct`
    # calls (benchmarks: the sync per-call scenario), and checks the same fields.
    return RerankResponse.model_validate(
        {
            "id": ranking.id or _new_id(),
            "model": request.full_model,
            "results": [
                {
                    "index": index,
                    "relevance_score": score,
                    "document": _document(originals[index]) if attach else None,
                }
                for index, score in scores
            ],
            "meta": {
                "provider": request.prefix,
                "score_kind": prepared.provider.score_kind,
                "usage": ranking.usage,
            },
        }
    )


def error_for_status(prepared: Prepared, response: HttpResponse) -> ProviderError:
    """The typed error for an upstream answer with a non-2xx status."""
    provider = prepared.provider
    message = provider.error_message(response) if isinstance(provider, HttpProvider) else None
    return status_error(
        response.status_code,
        provider=provider.name,
        model=prepared.request.full_model,
        body=response.text,
        upstream_message=message,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _check_params(
    provider: Provider, prefix: str, params: Mapping[str, Any], drop_params: bool
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
        warnings.warn(
            f"Dropped parameter(s) {names}: provider {prefix!r} does not accept them.",
            RerankitWarning,
            stacklevel=4,
        )
    return checked


def _checked_scores(prepared: Prepared, ranking: Ranking) -> list[tuple[int, float]]:
    request = prepared.request
    n = len(request.documents)

    def bad(reason: str) -> InvalidResponseError:
        return InvalidResponseError(
            f"{prepared.provider.name} returned an invalid ranking for model "
            f"{request.full_model!r}: {reason}.",
            provider=prepared.provider.name,
            model=request.full_model,
        )

    seen: set[int] = set()
    scores: list[tuple[int, float]] = []
    for index, score in ranking.scores:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise bad(f"index {index!r} is not a position in the {n} documents sent")
        if index in seen:
            raise bad(f"index {index} appears more than once")
        if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
            raise bad(f"the score of index {index} is {score!r}, not a number")
        seen.add(index)
        scores.append((index, float(score)))
    wanted = n if not ranking.partial else min(n, request.top_n or n)
    if len(scores) < wanted:
        raise bad(f"{len(scores)} results for {wanted} expected; documents would be lost")
    return scores


def _document(original: DocumentInput) -> dict[str, Any]:
    if isinstance(original, str):
        return {"text": original}
    return dict(original)


#: Response ids need to be unique, not secret: uuid4 reads os.urandom on every call, a
#: system call that cost 10% of an async call in the profile (benchmarks/ docs).
_ids = random.Random()


def _new_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


def _env(name: str | None) -> str | None:
    return (os.environ.get(name) or None) if name else None


def _first_env(names: Sequence[str]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
