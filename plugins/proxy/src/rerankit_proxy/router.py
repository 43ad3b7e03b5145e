"""Routing: which deployment answers a call, and what happens when one fails.

Deployments sharing a model name form a group. Each call picks a deployment of its group
(round-robin, or the one with the fewest calls in flight) among those `health.py`'s
outlier detection keeps in rotation, preferring one its upstream has not asked to wait.
What a failure allows is `rerankit.policy`'s rule, the same the SDK follows:

- the request's own fault (bad input, upstream 400/404/413/422, a configuration error
  for that model) is answered to the caller at once: not retried, not counted, no
  fallback, so one tenant's mistake never takes a shared deployment down;
- a deployment's fault (its key rejected: 401/403; a redirect) ejects it at once with a
  log line, and the call moves on to another deployment or a fallback;
- transient failures and bad answers count towards the deployment's failure rate and
  are retried, on another deployment when there is one, else on the same after a
  jittered backoff, up to `num_retries` more times within the call's deadline;
- a 429 holds the deployment back for its `Retry-After` (capped at `max_retry_after`);
  the call moves on, or waits when the wait is short (`max_retry_wait`) and fits its
  deadline, else answers 429 with the wait.

Then each fallback model name gets the same treatment. Upstream calls go through one
pooled `rerankit.AsyncClient`, so every installed provider works behind the proxy.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rerankit import AsyncClient
from rerankit.errors import (
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
from rerankit.policy import Fault, backoff_delay, counts_against_deployment, fault_of
from rerankit.registry import ProviderRegistry
from rerankit.types import RerankAnswer

from .config import Deployment, ProxyConfig, RouterSettings
from .health import DeploymentHealth, HealthSettings, may_eject
from .metrics import Metrics
from .params import ProviderParams
from .shared import SharedState

__all__ = [
    "Router",
    "ModelGroup",
    "ProxiedCall",
    "Routed",
    "UpstreamFailure",
    "health_settings",
]

logger = logging.getLogger("rerankit.proxy")


@dataclass(slots=True)
class _State:
    deployment: Deployment
    health: DeploymentHealth
    in_flight: int = 0


@dataclass(slots=True)
class ModelGroup:
    """The deployments serving one model name (a wildcard name ends in `*`)."""

    name: str
    states: list[_State]
    #: The provider parameters a caller may pass for this model.
    params: ProviderParams
    turn: int = 0
    #: When the shared ejections were last read (monotonic seconds).
    shared_read: float = -math.inf


@dataclass(frozen=True, slots=True)
class ProxiedCall:
    """One call for the router: what the caller asked, already checked by the protocol."""

    #: The model name the caller sent (a configured name, or one a wildcard group serves).
    model_name: str
    #: The group serving it (`Router.lookup`).
    group: ModelGroup
    query: str
    texts: Sequence[str]
    top_n: int | None
    #: The caller's provider parameters (the group's provider accepts each).
    params: Mapping[str, Any]
    #: When the call must have been answered (monotonic seconds).
    deadline: float


@dataclass(slots=True)
class Routed:
    """A successful call: the answer and who gave it."""

    answer: RerankAnswer
    model_name: str
    deployment: str
    upstream_seconds: float


@dataclass(slots=True)
class UpstreamFailure(Exception):
    """Every attempt and fallback failed (or none could be made)."""

    model_name: str
    last_error: RerankitError | None
    #: Seconds until a rate-limited deployment may be asked again, when that is known.
    retry_after: float | None = None
    tried: list[str] = field(default_factory=list)


def health_settings(settings: RouterSettings) -> HealthSettings:
    """The outlier-detection part of the router settings."""
    return HealthSettings(
        failure_rate_threshold=settings.failure_rate_threshold,
        minimum_requests=settings.minimum_requests,
        failure_window=settings.failure_window,
        allowed_fails=settings.allowed_fails,
        cooldown_time=settings.cooldown_time,
        max_cooldown_time=settings.max_cooldown_time,
        max_ejection_percent=settings.max_ejection_percent,
        half_open_requests=settings.half_open_requests,
    )


class Router:
    """Picks deployments, retries, ejects and falls back; one per worker process."""

    def __init__(
        self,
        config: ProxyConfig,
        registry: ProviderRegistry,
        client: AsyncClient,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedState | None = None,
    ) -> None:
        self.settings = config.router
        self.shared = shared
        self.client = client
        self.metrics = metrics
        self._clock = clock
        self._health = health_settings(config.router)
        self.groups: dict[str, ModelGroup] = {}
        for d in config.deployments:
            group = self.groups.get(d.model_name)
            if group is None:
                provider = registry.get(d.model.partition("/")[0])
                params = ProviderParams(provider)
                group = self.groups[d.model_name] = ModelGroup(d.model_name, [], params)
            group.states.append(_State(d, DeploymentHealth(self._health)))
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

    async def rerank(self, call: ProxiedCall) -> Routed:
        """Answer one call through its group, then the group's fallbacks.

        Raises the error itself when the request is at fault, else `UpstreamFailure`.
        """
        group = call.group
        failure = UpstreamFailure(call.model_name, None)
        chain = [(call.model_name, group)]
        for name in self.settings.fallbacks.get(group.name, ()):
            chain.append((name, self.groups[name]))
        for position, (name, target) in enumerate(chain):
            if position:
                self.metrics.fallbacks.inc((("model", group.name), ("fallback", name)))
                logger.info("falling back from %s to %s", group.name, name)
            routed = await self._try_group(call, name, target, failure)
            if routed is not None:
                return routed
            if self._clock() >= call.deadline:
                break
        raise failure

    async def _try_group(
        self, call: ProxiedCall, model_name: str, group: ModelGroup, failure: UpstreamFailure
    ) -> Routed | None:
        """Try `group` (the call's own, or a fallback answering as `model_name`)."""
        # A fallback's provider may take other parameters: it gets those it accepts.
        params = group.params.taken_from(call.params)
        if self.shared is not None:
            await self._read_shared(group)
        tried: set[int] = set()
        #: Deployments this call must not ask again (their key was rejected, or they
        #: answered nonsense).
        barred: set[int] = set()
        for attempt in range(self.settings.num_retries + 1):
            state = self._pick(group, tried, barred)
            if state is None:
                return None  # every deployment is barred for this call: next fallback
            wait = await self._wait_before(group, state, tried, attempt, call.deadline, failure)
            if wait is None:
                return None
            tried.add(id(state))
            try:
                return await self._attempt(call, model_name, group, state, params)
            except RerankitError as exc:
                fault = fault_of(exc)
                if fault is Fault.REQUEST:
                    raise  # the caller's own: another deployment would refuse it too
                failure.last_error = exc
                failure.tried.append(state.deployment.id)
                if fault in (Fault.DEPLOYMENT, Fault.BAD_ANSWER):
                    barred.add(id(state))
                if isinstance(exc, RateLimitError):
                    failure.retry_after = self._rate_limited(group, state, exc)
        return None

    async def _read_shared(self, group: ModelGroup) -> None:
        """Learn the group's ejections by other processes (at most every
        `ejection_cache` seconds; unchanged when Redis cannot say)."""
        assert self.shared is not None
        now = self._clock()
        if now - group.shared_read < self.shared.ejection_cache or not self.shared.available:
            return
        group.shared_read = now
        left = await self.shared.ejections([s.deployment.id for s in group.states])
        if left is None:
            return
        now = self._clock()
        for state, seconds in zip(group.states, left, strict=True):
            state.health.shared_until = now + seconds if seconds else 0.0

    def _pick(self, group: ModelGroup, tried: set[int], barred: set[int]) -> _State | None:
        """The deployment for the next attempt, or None when every one is barred."""
        now = self._clock()
        allowed = [s for s in group.states if id(s) not in barred]
        if not allowed:
            return None
        # In rotation and free to call; else (the panic rule) whatever is left, the ones
        # whose rate-limit hold ends soonest first.
        ready = [s for s in allowed if s.health.available(now)]
        if not ready:
            unheld = [s for s in allowed if not s.health.rate_limited(now)]
            ready = unheld or [min(allowed, key=lambda s: s.health.rate_limited_until)]
        fresh = [s for s in ready if id(s) not in tried] or ready
        if self.settings.routing_strategy == "least-in-flight":
            fewest = min(s.in_flight for s in fresh)
            fresh = [s for s in fresh if s.in_flight == fewest]
        group.turn += 1
        return fresh[group.turn % len(fresh)]

    async def _wait_before(
        self,
        group: ModelGroup,
        state: _State,
        tried: set[int],
        attempt: int,
        deadline: float,
        failure: UpstreamFailure,
    ) -> float | None:
        """Sleep as the attempt requires; None when the wait would outlast the deadline."""
        now = self._clock()
        wait = max(0.0, state.health.rate_limited_until - now)
        if id(state) in tried and not wait:
            # The same deployment again: back off, jittered, so retries do not stampede.
            s = self.settings
            wait = backoff_delay(attempt - 1, s.retry_backoff, s.retry_backoff_max)
        if not wait:
            return 0.0
        held = state.health.rate_limited(now)
        if now + wait >= deadline or (held and wait > self.settings.max_retry_wait):
            if held:
                failure.retry_after = wait
                if failure.last_error is None:
                    failure.last_error = RateLimitError(
                        f"every deployment of {group.name!r} is rate-limited by its upstream"
                    )
            return None
        await asyncio.sleep(wait)
        return wait

    async def _attempt(
        self,
        call: ProxiedCall,
        model_name: str,
        group: ModelGroup,
        state: _State,
        params: Mapping[str, Any],
    ) -> Routed:
        d = state.deployment
        health = state.health
        remaining = call.deadline - self._clock()
        timeout = min(d.timeout or self.settings.timeout, max(remaining, 0.001))
        labels = (("deployment", d.id),)
        probe = health.started(self._clock())
        state.in_flight += 1
        self.metrics.in_flight.set(labels, state.in_flight)
        started = time.perf_counter()
        outcome = "ok"
        try:
            # Plain data: the proxy writes its own JSON, so no `RerankResponse` is built.
            answer = await self.client.rerank_answer(
                d.upstream_model(model_name),
                call.query,
                call.texts,
                top_n=call.top_n,
                return_documents=False,
                api_key=d.api_key,
                api_base=d.api_base,
                timeout=timeout,
                max_retries=d.max_retries or 0,
                **{**d.params, **params},
            )
        except BaseException as exc:
            outcome = outcome_of(exc)
            self._failed(group, state, exc, probe)
            raise
        finally:
            elapsed = time.perf_counter() - started
            state.in_flight -= 1
            self.metrics.in_flight.set(labels, state.in_flight)
            self.metrics.record_attempt(group.name, d.id, outcome, elapsed)
        health.succeeded(self._clock(), probe)
        return Routed(answer, model_name, d.id, elapsed)

    def _failed(self, group: ModelGroup, state: _State, exc: BaseException, probe: bool) -> None:
        """Update the deployment's health after a failed attempt, per `rerankit.policy`."""
        health = state.health
        if not isinstance(exc, RerankitError) or not counts_against_deployment(exc):
            health.released(probe)  # the caller's fault, a rate limit or a cancelled call
            return
        d = state.deployment
        now = self._clock()
        fault = fault_of(exc)
        # The full error (it may name the upstream's address) goes to the log, not the caller.
        logger.warning("deployment %s of %s failed: %s", d.id, group.name, exc)
        wants_out = health.failed(now, probe) or fault is Fault.DEPLOYMENT
        if fault is Fault.DEPLOYMENT:
            logger.error(
                "deployment %s of %s is misconfigured: its upstream answered HTTP %s "
                "(a rejected api_key, or a moved api_base); fix the deployment.",
                d.id,
                group.name,
                getattr(exc, "status_code", None),
            )
        if not wants_out or health.ejected(now):
            return
        if not may_eject([s.health for s in group.states], now, self._health):
            logger.warning(
                "deployment %s of %s is failing (%.0f%% of recent attempts) but stays in "
                "rotation: ejecting it would leave too few of its group (panic rule).",
                d.id,
                group.name,
                100 * health.failure_rate(now),
            )
            return
        seconds = health.eject(now)
        if self.shared is not None:
            self.shared.publish_ejection(d.id, seconds)
        self.metrics.cooldowns.inc((("model", group.name), ("deployment", d.id)))
        logger.warning(
            "deployment %s of %s ejected for %.1f s (ejection %d; %.0f%% of recent attempts "
            "failed)",
            d.id,
            group.name,
            seconds,
            health.ejections,
            100 * health.failure_rate(now),
        )

    def _rate_limited(self, group: ModelGroup, state: _State, exc: RateLimitError) -> float | None:
        """Hold a deployment back for its upstream's (capped) Retry-After; return the wait."""
        wait = exc.retry_after
        if wait is None or not math.isfinite(wait) or wait <= 0:
            return None
        wait = min(wait, self.settings.max_retry_after)
        state.health.hold(self._clock(), wait)
        logger.info(
            "deployment %s of %s is rate-limited by its upstream for %.1f s",
            state.deployment.id,
            group.name,
            wait,
        )
        return wait


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
