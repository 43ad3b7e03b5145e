"""Routing: which deployment answers a call, and what happens when one fails.

Deployments sharing a model name form a group. Each call picks a deployment of its group
(round-robin, or the one with the fewest calls in flight), skipping those cooling down.
A failed attempt is retried on another deployment of the group when there is one (the
same one otherwise, after a short pause), up to `num_retries` more times; then each
fallback model name gets the same treatment. A deployment that fails `allowed_fails`
times in a row, or answers 429, is cooled down for `cooldown_time` seconds (or the
upstream's `Retry-After`) and tried again after that.

Errors that are the caller's (bad input, upstream 400/413) are raised at once: another
deployment would say the same. Upstream calls go through one pooled
`rerankit.AsyncClient`, so every installed provider works behind the proxy.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._client import AsyncClient
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    RequestTooLargeError,
    RerankitError,
)
from ..provider import Param
from ..registry import ProviderRegistry
from ..types import RerankResponse
from .config import Deployment, ProxyConfig
from .metrics import Metrics

__all__ = ["Router", "ModelGroup", "Routed", "UpstreamFailure", "RESERVED_PARAMS"]

logger = logging.getLogger("rerankit.proxy")

#: Names a caller can never pass as provider parameters: they choose where a call goes
#: and with which credentials, or how the client behaves.
RESERVED_PARAMS = frozenset(
    {
        "model",
        "query",
        "documents",
        "top_n",
        "return_documents",
        "api_key",
        "api_base",
        "base_url",
        "timeout",
        "drop_params",
        "max_retries",
        "fallbacks",
        "params",
        "transport",
        "http_client",
        "headers",
        "extra_headers",
    }
)
#: Longest cool-down an upstream's Retry-After may impose, in seconds.
MAX_COOLDOWN = 300.0


@dataclass(slots=True)
class _State:
    deployment: Deployment
    in_flight: int = 0
    fails: int = 0
    cooldown_until: float = 0.0
    rate_limited: bool = False


@dataclass(slots=True)
class ModelGroup:
    """The deployments serving one model name (a wildcard name ends in `*`)."""

    name: str
    states: list[_State]
    #: The provider parameters a caller may pass for this model.
    params: Mapping[str, Param]
    turn: int = 0

    @property
    def deployments(self) -> list[Deployment]:
        """The group's deployments, in configuration order."""
        return [s.deployment for s in self.states]


@dataclass(slots=True)
class Routed:
    """A successful call: the answer and who gave it."""

    response: RerankResponse
    model_name: str
    deployment: str
    upstream_seconds: float


@dataclass(slots=True)
class UpstreamFailure(Exception):
    """Every attempt and fallback failed (or none could be made)."""

    model_name: str
    last_error: RerankitError | None
    #: Seconds until a cooled-down deployment is tried again, when none could be tried.
    retry_after: float | None = None
    tried: list[str] = field(default_factory=list)


class Router:
    """Picks deployments, retries, cools down and falls back; one per worker process."""

    def __init__(
        self,
        config: ProxyConfig,
        registry: ProviderRegistry,
        client: AsyncClient,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = config.router
        self.client = client
        self.metrics = metrics
        self._clock = clock
        self.groups: dict[str, ModelGroup] = {}
        for d in config.deployments:
            group = self.groups.get(d.model_name)
            if group is None:
                provider = registry.get(d.model.partition("/")[0])
                allowed = {k: v for k, v in provider.params.items() if k not in RESERVED_PARAMS}
                group = self.groups[d.model_name] = ModelGroup(d.model_name, [], allowed)
            group.states.append(_State(d))
        # Longest prefix first, so 'nim/big/*' wins over 'nim/*'.
        self._wildcards = sorted(
            (g for g in self.groups.values() if g.name.endswith("*")),
            key=lambda g: -len(g.name),
        )

    def lookup(self, model_name: str) -> ModelGroup | None:
        """The group serving `model_name`: an exact name, else the longest wildcard match."""
        group = self.groups.get(model_name)
        if group is not None:
            return group
        for wildcard in self._wildcards:
            prefix = wildcard.name[:-1]
            if model_name.startswith(prefix) and len(model_name) > len(prefix):
                return wildcard
        return None

    async def rerank(
        self,
        model_name: str,
        group: ModelGroup,
        query: str,
        texts: Sequence[str],
        *,
        top_n: int | None,
        params: Mapping[str, Any],
        deadline: float,
    ) -> Routed:
        """Answer one call through `group`, then its fallbacks; raise `UpstreamFailure`."""
        failure = UpstreamFailure(model_name, None)
        chain = [(model_name, group)]
        for name in self.settings.fallbacks.get(group.name, ()):
            chain.append((name, self.groups[name]))
        for position, (name, target) in enumerate(chain):
            if position:
                self.metrics.fallbacks.inc((("model", group.name), ("fallback", name)))
                logger.info("falling back from %s to %s", group.name, name)
            routed = await self._try_group(
                name, target, query, texts, top_n, params, deadline, failure
            )
            if routed is not None:
                return routed
        raise failure

    async def _try_group(
        self,
        model_name: str,
        group: ModelGroup,
        query: str,
        texts: Sequence[str],
        top_n: int | None,
        params: Mapping[str, Any],
        deadline: float,
        failure: UpstreamFailure,
    ) -> Routed | None:
        # A fallback's provider may take other parameters: it gets those it accepts.
        params = {k: v for k, v in params.items() if k in group.params}
        tried: set[int] = set()
        for attempt in range(self.settings.num_retries + 1):
            state = self._pick(group, tried)
            if state is None:
                soonest = min(s.cooldown_until for s in group.states) - self._clock()
                failure.retry_after = max(0.0, soonest)
                if failure.last_error is None:
                    failure.last_error = _cooling_error(group, any_rate_limited(group))
                return None
            if id(state) in tried:
                # No other deployment to move to: pause briefly before asking again.
                await asyncio.sleep(min(0.05 * 2**attempt, 0.5))
            tried.add(id(state))
            try:
                return await self._attempt(
                    model_name, group, state, query, texts, top_n, params, deadline
                )
            except (InvalidRequestError, BadRequestError, RequestTooLargeError):
                raise  # the caller's input: another deployment would refuse it too
            except RerankitError as exc:
                failure.last_error = exc
                failure.tried.append(state.deployment.id)
                self._failed(group, state, exc)
        return None

    def _pick(self, group: ModelGroup, tried: set[int]) -> _State | None:
        now = self._clock()
        ready = [s for s in group.states if s.cooldown_until <= now]
        if not ready:
            return None
        fresh = [s for s in ready if id(s) not in tried] or ready
        if self.settings.routing_strategy == "least-in-flight":
            fewest = min(s.in_flight for s in fresh)
            fresh = [s for s in fresh if s.in_flight == fewest]
        group.turn += 1
        return fresh[group.turn % len(fresh)]

    async def _attempt(
        self,
        model_name: str,
        group: ModelGroup,
        state: _State,
        query: str,
        texts: Sequence[str],
        top_n: int | None,
        params: Mapping[str, Any],
        deadline: float,
    ) -> Routed:
        d = state.deployment
        remaining = deadline - self._clock()
        timeout = min(d.timeout or self.settings.timeout, max(remaining, 0.001))
        labels = (("deployment", d.id),)
        state.in_flight += 1
        self.metrics.in_flight.set(labels, state.in_flight)
        started = time.perf_counter()
        outcome = "ok"
        try:
            response = await self.client.rerank(
                d.upstream_model(model_name),
                query,
                texts,
                top_n=top_n,
                return_documents=False,
                api_key=d.api_key,
                api_base=d.api_base,
                timeout=timeout,
                max_retries=d.max_retries or 0,
                **{**d.params, **params},
            )
        except RerankitError as exc:
            outcome = outcome_of(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            state.in_flight -= 1
            self.metrics.in_flight.set(labels, state.in_flight)
            self.metrics.record_attempt(group.name, d.id, outcome, elapsed)
        state.fails = 0
        state.rate_limited = False
        return Routed(response, model_name, d.id, elapsed)

    def _failed(self, group: ModelGroup, state: _State, exc: RerankitError) -> None:
        d = state.deployment
        # The full error (it may name the upstream's address) goes to the log, not the caller.
        logger.warning("deployment %s of %s failed: %s", d.id, group.name, exc)
        state.fails += 1
        rate_limited = isinstance(exc, RateLimitError)
        if not rate_limited and state.fails < self.settings.allowed_fails:
            return
        seconds = self.settings.cooldown_time
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            seconds = min(exc.retry_after, MAX_COOLDOWN)
        state.cooldown_until = self._clock() + seconds
        state.rate_limited = rate_limited
        # After the cool-down one more failure cools it down again.
        state.fails = self.settings.allowed_fails - 1
        self.metrics.cooldowns.inc((("model", group.name), ("deployment", d.id)))
        logger.warning("deployment %s of %s cooled down for %.1f s", d.id, group.name, seconds)


def any_rate_limited(group: ModelGroup) -> bool:
    """Whether a deployment of `group` is cooling down because its upstream said 429."""
    return any(s.rate_limited for s in group.states)


def _cooling_error(group: ModelGroup, rate_limited: bool) -> RerankitError:
    why = "rate-limited by their upstream" if rate_limited else "cooling down after failures"
    message = f"every deployment of {group.name!r} is {why}"
    if rate_limited:
        return RateLimitError(message)
    return RerankitError(message)


def outcome_of(exc: BaseException) -> str:
    """A short, bounded name for how an upstream call failed (a metrics label)."""
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, ProviderTimeoutError):
        return "timeout"
    if isinstance(exc, ProviderConnectionError):
        return "connection_error"
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return "upstream_auth_error"
    if isinstance(exc, NotFoundError):
        return "upstream_not_found"
    if isinstance(exc, BadRequestError | RequestTooLargeError | InvalidRequestError):
        return "bad_request"
    if isinstance(exc, InvalidResponseError):
        return "invalid_response"
    if isinstance(exc, APIStatusError):
        return "server_error"
    if isinstance(exc, ConfigurationError):
        return "configuration_error"
    return "error"


def retry_after_header(seconds: float | None) -> list[tuple[bytes, bytes]]:
    """A `Retry-After` header (whole seconds, at least 1) when a wait is known."""
    if seconds is None:
        return []
    return [(b"retry-after", str(max(1, math.ceil(seconds))).encode())]
