"""The clients' side of the life-cycle hooks: building the contexts, answering from a cache.

Both clients call these only when `Lifecycle.active` (some plugin implements a life-cycle
hook), so a call without such plugins never builds a context; and they build the call's
context only when `Lifecycle.observes_calls` (a hook can see it), so attempt hooks alone
(the proxy's request id) cost an `AttemptContext` per attempt and nothing per call.
"""

from __future__ import annotations

import time
from typing import Any

from ._chunking import checked_scores
from ._normalize import Normalize
from ._pipeline import Part, Prepared, finish
from .lifecycle import AttemptContext, CallContext, Lifecycle
from .provider import HttpProvider, Ranking
from .types import RerankAnswer, RerankResponse
from .wire import HttpRequest, display_url

__all__ = [
    "observed_start",
    "observed_end",
    "call_context",
    "cached_response",
    "attempt_context",
    "attempt_headers",
    "end_attempt",
]


def call_context(model: str, prepared: Prepared, *, is_async: bool) -> CallContext:
    """What the hooks see of a call about to start (`prepared` has passed every check)."""
    request = prepared.request
    provider = prepared.provider
    http = isinstance(provider, HttpProvider) and request.api_base
    return CallContext(
        model=model,
        prefix=request.prefix,
        provider=provider.name,
        provider_model=request.model,
        query=request.query,
        documents=request.documents,
        params=request.params,
        top_n=request.top_n,
        return_documents=request.return_documents,
        api_base=display_url(request.api_base) if http and request.api_base else None,
        score_kind=provider.score_kind_for(request),
        is_async=is_async,
    )


def observed_start(
    hooks: Lifecycle, model: str, prepared: Prepared, *, is_async: bool, normalize: Normalize
) -> tuple[CallContext, RerankAnswer | None]:
    """Announce a call; returns its context and the answer a cache gave, if one did
    (its `RerankResponse` built, for `rerank_call_finished` to see)."""
    call = call_context(model, prepared, is_async=is_async)
    call.state["started"] = time.perf_counter()
    hooks.notify("rerank_call_started", call=call)
    ranking = hooks.cached_ranking(call)
    if ranking is None:
        return call, None
    call.cached = True
    call.ranking = ranking
    try:
        answer = cached_response(prepared, ranking, normalize)
        answer.response()
        return call, answer
    except BaseException as error:  # an invalid cached answer fails the call: say so
        observed_end(hooks, call, None, error)
        raise


def observed_end(
    hooks: Lifecycle,
    call: CallContext,
    response: RerankResponse | None,
    error: BaseException | None,
) -> None:
    """Tell the hooks how a call ended."""
    call.duration = time.perf_counter() - call.state.pop("started")
    call.response = response
    call.error = error
    hooks.notify("rerank_call_finished", call=call)


def cached_response(prepared: Prepared, ranking: Ranking, normalize: Normalize) -> RerankAnswer:
    """The answer made from a cached ranking, checked like a provider's full ranking."""
    request = prepared.request
    ranking.scores = checked_scores(
        ranking,
        size=len(request.documents),
        top_n=None,
        provider=prepared.provider.name,
        model=request.full_model,
    )
    return finish(prepared, ranking, {"attempts": 0, "cached": True}, normalize)


def attempt_context(
    hooks: Lifecycle,
    call: CallContext | None,
    model: str,
    part: Part,
    http: HttpRequest,
    number: int,
) -> AttemptContext:
    """A new attempt's context, announced to the hooks."""
    documents = part.documents
    attempt = AttemptContext(
        model=model,
        number=number,
        document_range=(documents.start, documents.stop),
        method=http.method,
        url=display_url(http.url),
    )
    attempt.state["started"] = time.perf_counter()
    hooks.notify("rerank_attempt_started", call=call, attempt=attempt)
    return attempt


def attempt_headers(http: HttpRequest, attempt: AttemptContext | None) -> Any:
    """The headers to send: the hooks' additions, under the provider's own."""
    if attempt is None or not attempt.headers:
        return http.headers
    taken = {name.lower() for name in http.headers}
    added = {k: v for k, v in attempt.headers.items() if k.lower() not in taken}
    return {**added, **http.headers}


def end_attempt(
    hooks: Lifecycle,
    call: CallContext | None,
    attempt: AttemptContext,
    status_code: int | None,
    error: BaseException | None,
) -> None:
    """Tell the hooks how an attempt ended."""
    attempt.duration = time.perf_counter() - attempt.state.pop("started")
    attempt.status_code = status_code
    attempt.error = error
    hooks.notify("rerank_attempt_finished", call=call, attempt=attempt)
