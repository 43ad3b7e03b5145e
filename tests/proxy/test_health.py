"""Outlier detection (proxy/health.py) as pure logic, time passed in by hand."""

from __future__ import annotations

from rerankit_proxy.health import DeploymentHealth, HealthSettings, may_eject

SETTINGS = HealthSettings(
    failure_rate_threshold=0.5,
    minimum_requests=10,
    failure_window=30,
    allowed_fails=5,
    cooldown_time=5,
    max_cooldown_time=40,
    max_ejection_percent=50,
    half_open_requests=2,
)


def outcomes(health: DeploymentHealth, now: float, pattern: str) -> bool:
    """Feed 'x' (failure) / '.' (success); True when some failure asked for ejection."""
    wanted = False
    for mark in pattern:
        probe = health.started(now)
        if mark == "x":
            wanted |= health.failed(now, probe)
        else:
            health.succeeded(now, probe)
    return wanted


def test_a_30_percent_failure_rate_is_below_the_threshold():
    h = DeploymentHealth(SETTINGS)
    assert not outcomes(h, 0, "..x..x..x." * 10)
    assert abs(h.failure_rate(0) - 0.3) < 1e-9


def test_the_rate_needs_the_minimum_volume_and_the_window_forgets():
    h = DeploymentHealth(SETTINGS)
    assert not outcomes(h, 0, "x.x.")  # 50% but only 4 calls
    assert outcomes(h, 1, "x.x.xx")  # the 10th call: 6 of 10 failed
    h = DeploymentHealth(SETTINGS)
    outcomes(h, 0, "xxxx.")
    assert h.failure_rate(31) == 0.0  # all older than the window


def test_consecutive_failures_eject_whatever_the_rate():
    h = DeploymentHealth(SETTINGS)
    assert not outcomes(h, 0, "." * 50 + "xxxx")
    assert outcomes(h, 0, "x")


def test_ejection_grows_for_repeat_offenders_and_probing_restores():
    h = DeploymentHealth(SETTINGS)
    assert h.eject(0) == 5
    assert not h.available(4.9) and h.ejected(4.9)
    # half-open: two probe slots, then no more until they report
    assert h.available(5)
    first, second = h.started(5), h.started(5)
    assert first and second and not h.available(5)
    assert h.failed(5, second)  # one failed probe: out again, for longer
    assert h.eject(5) == 10
    h.released(first)
    assert outcomes(h, 15, "..") is False  # two good probes: healthy, fresh window
    assert not h.probing and h.failure_rate(15) == 0.0
    assert h.available(15)
    # a third ejection soon after doubles again, capped at max_cooldown_time
    assert h.eject(16) == 20
    assert h.eject(36) == 40
    assert h.eject(76) == 40


def test_healthy_time_earns_the_multiplier_back():
    h = DeploymentHealth(SETTINGS)
    h.eject(0)
    h.eject(5)  # 10 s
    assert h.ejections == 2
    outcomes(h, 15, "..")
    # 100 s healthy after the last ejection ended: back to the first step
    assert h.eject(115) == 5


def test_a_retry_after_hold_keeps_calls_away_without_counting():
    h = DeploymentHealth(SETTINGS)
    h.hold(0, 2)
    assert h.rate_limited(1.9) and not h.available(1.9)
    assert h.available(2) and h.failure_rate(2) == 0.0


def test_panic_rule_never_ejects_the_last_or_more_than_the_share():
    one = [DeploymentHealth(SETTINGS)]
    assert not may_eject(one, 0, SETTINGS)
    pair = [DeploymentHealth(SETTINGS), DeploymentHealth(SETTINGS)]
    assert may_eject(pair, 0, SETTINGS)
    pair[0].eject(0)
    assert not may_eject(pair, 1, SETTINGS)
    assert may_eject(pair, 6, SETTINGS)  # the first is back
    five = [DeploymentHealth(SETTINGS) for _ in range(5)]
    five[0].eject(0)
    five[1].eject(0)
    assert not may_eject(five, 1, SETTINGS)  # 50% of 5 is 2


def test_the_window_is_bounded_whatever_the_traffic():
    h = DeploymentHealth(SETTINGS)
    outcomes(h, 0, "." * 5000)
    assert len(h.outcomes) <= 1000
