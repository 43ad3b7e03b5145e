"""Outlier detection: which deployments of a group take calls, and when they come back.

Modelled on Envoy's outlier detection and resilience4j's circuit breaker, per deployment:

- **Healthy** deployments take calls. Each finished attempt that `rerankit.policy` counts
  against a deployment goes into a sliding window of `failure_window` seconds (at most
  `_WINDOW_CAP` outcomes). The deployment is **ejected** when the window holds at least
  `minimum_requests` outcomes and the failure *rate* reaches `failure_rate_threshold`, or
  after `allowed_fails` failures in a row, or at once when the upstream rejects its own
  credentials (401/403) or redirects (3xx).
- An ejection lasts `cooldown_time * 2**(n-1)` seconds for its n-th repeat, at most
  `max_cooldown_time`; `n` decays by one for each ejection-length of healthy time.
- When it ends, the deployment is **probing** (half-open): up to `half_open_requests`
  calls at a time try it; that many successes make it healthy with a fresh window, one
  failure ejects it again, for longer.
- Panic rule: ejection never takes out more than `max_ejection_percent` of a group (at
  least one, never the last healthy deployment); and when no deployment is available,
  calls try them all anyway rather than answer 503.

Rate limits are apart: a 429 with `Retry-After` holds the deployment back for that long
(capped), without counting as a failure. The pure logic here takes the time as an
argument; the router owns the clock.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

__all__ = ["HealthSettings", "DeploymentHealth", "may_eject"]

logger = logging.getLogger("rerankit.proxy")

#: Most outcomes a window remembers: bounds memory whatever the traffic.
_WINDOW_CAP = 1000


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """The outlier-detection knobs: the router settings of the same names (their defaults
    and meanings are in `config.RouterSettings`, the one place that holds them)."""

    failure_rate_threshold: float
    minimum_requests: int
    failure_window: float
    allowed_fails: int
    cooldown_time: float
    max_cooldown_time: float
    max_ejection_percent: float
    half_open_requests: int


class DeploymentHealth:
    """The health of one deployment: healthy, ejected or probing; see the module doc."""

    __slots__ = (
        "consecutive",
        "ejected_until",
        "ejections",
        "failures",
        "outcomes",
        "probes_in_flight",
        "probes_passed",
        "probing",
        "rate_limited_until",
        "settings",
        "shared_until",
    )

    def __init__(self, settings: HealthSettings) -> None:
        self.settings = settings
        #: (time, failed) of recent counted attempts, oldest first.
        self.outcomes: deque[tuple[float, bool]] = deque()
        self.failures = 0
        self.consecutive = 0
        self.ejections = 0
        self.ejected_until = 0.0
        self.probing = False
        self.probes_in_flight = 0
        self.probes_passed = 0
        self.rate_limited_until = 0.0
        #: Until when another process's ejection keeps it out (read from Redis).
        self.shared_until = 0.0

    # -- reading ---------------------------------------------------------------------

    def ejected(self, now: float) -> bool:
        """Whether the deployment is out of rotation right now (here or by another process)."""
        return now < self.ejected_until or now < self.shared_until

    def rate_limited(self, now: float) -> bool:
        """Whether its upstream asked us to wait and the wait is not over."""
        return now < self.rate_limited_until

    def available(self, now: float) -> bool:
        """Whether a call may go here now without the panic rule (a probe slot if probing)."""
        if self.ejected(now) or self.rate_limited(now):
            return False
        return not self.probing or self.probes_in_flight < self.settings.half_open_requests

    def failure_rate(self, now: float) -> float:
        """Share of failed attempts in the window (0 with no attempts)."""
        self._expire(now)
        return self.failures / len(self.outcomes) if self.outcomes else 0.0

    # -- writing ---------------------------------------------------------------------

    def started(self, now: float) -> bool:
        """An attempt starts here; returns whether it is a half-open probe."""
        if self.probing and not self.ejected(now):
            self.probes_in_flight += 1
            return True
        return False

    def succeeded(self, now: float, probe: bool) -> None:
        """An attempt that started here succeeded."""
        self.consecutive = 0
        if probe:
            self.probes_in_flight -= 1
            self.probes_passed += 1
            if self.probes_passed >= self.settings.half_open_requests:
                self.probing = False
                self.outcomes.clear()
                self.failures = 0
        self._add(now, failed=False)

    def failed(self, now: float, probe: bool) -> bool:
        """A counted failure; returns whether it calls for an ejection."""
        if probe:
            self.probes_in_flight -= 1
        self.consecutive += 1
        self._add(now, failed=True)
        if self.probing:
            return True  # one failed probe: back out, for longer
        s = self.settings
        if self.consecutive >= s.allowed_fails:
            return True
        return len(self.outcomes) >= s.minimum_requests and (
            self.failures / len(self.outcomes) >= s.failure_rate_threshold
        )

    def released(self, probe: bool) -> None:
        """An attempt ended without saying anything about health (the caller's own fault)."""
        if probe:
            self.probes_in_flight -= 1

    def eject(self, now: float) -> float:
        """Take the deployment out; returns for how many seconds."""
        s = self.settings
        if self.ejections:
            # Repeat offenders stay out longer; healthy time earns the multiplier back.
            healthy_for = max(0.0, now - self.ejected_until)
            self.ejections = max(0, self.ejections - int(healthy_for // max(s.cooldown_time, 1.0)))
        self.ejections += 1
        seconds = min(s.max_cooldown_time, s.cooldown_time * 2.0 ** min(self.ejections - 1, 62))
        self.ejected_until = now + seconds
        self.probing = True
        self.probes_in_flight = 0
        self.probes_passed = 0
        self.consecutive = 0
        return seconds

    def hold(self, now: float, seconds: float) -> None:
        """Keep calls away for `seconds` (the upstream's Retry-After, already capped)."""
        self.rate_limited_until = max(self.rate_limited_until, now + seconds)

    def _add(self, now: float, *, failed: bool) -> None:
        self.outcomes.append((now, failed))
        self.failures += failed
        if len(self.outcomes) > _WINDOW_CAP:
            _, old = self.outcomes.popleft()
            self.failures -= old
        self._expire(now)

    def _expire(self, now: float) -> None:
        horizon = now - self.settings.failure_window
        outcomes = self.outcomes
        while outcomes and outcomes[0][0] < horizon:
            _, old = outcomes.popleft()
            self.failures -= old


def may_eject(healths: list[DeploymentHealth], now: float, settings: HealthSettings) -> bool:
    """The panic rule: may one more deployment of this group be ejected right now?"""
    size = len(healths)
    if size < 2:
        return False
    out = sum(h.ejected(now) for h in healths)
    allowed = max(1, math.floor(size * settings.max_ejection_percent / 100))
    return out < min(allowed, size - 1)
