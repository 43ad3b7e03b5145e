"""Prometheus metrics, kept in plain dicts and written in the text exposition format.

Label values only ever come from the configuration (model names, deployment ids) or from
small fixed sets (routes, status codes, error types), never from what a caller sends, so
the number of series stays bounded. Values are per worker process.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

__all__ = ["Metrics", "LATENCY_BUCKETS", "HTTP_REFUSED", "cache_lines"]

#: Histogram bucket bounds in seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


class _Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self, kind: str = "counter") -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {kind}"
        for labels, value in self.values.items():
            yield f"{self.name}{_labels(labels)} {_number(value)}"


class _Gauge(_Counter):
    def set(self, labels: Labels, value: float) -> None:
        self.values[labels] = value

    def render(self, kind: str = "gauge") -> Iterable[str]:
        return super().render(kind)


class _Histogram:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        #: labels -> (count per bucket, incl. +Inf as the last; sum)
        self.values: dict[Labels, tuple[list[int], list[float]]] = {}

    def observe(self, labels: Labels, seconds: float) -> None:
        entry = self.values.get(labels)
        if entry is None:
            entry = self.values[labels] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
        entry[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        entry[1][0] += seconds

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, (counts, total) in self.values.items():
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS, None), counts, strict=True):
                cumulative += count
                le = "+Inf" if bound is None else _number(bound)
                yield f"{self.name}_bucket{_labels((*labels, ('le', le)))} {cumulative}"
            yield f"{self.name}_sum{_labels(labels)} {_number(total[0])}"
            yield f"{self.name}_count{_labels(labels)} {cumulative}"


class Metrics:
    """The proxy's metrics. Call the `record_*` methods; `render` gives the scrape body."""

    def __init__(self) -> None:
        self.requests = _Counter(
            "rerankit_proxy_requests_total", "Requests answered, by route, model and status."
        )
        self.errors = _Counter(
            "rerankit_proxy_errors_total", "Error answers, by route, model and error type."
        )
        self.latency = _Histogram(
            "rerankit_proxy_request_duration_seconds",
            "Time from request to answer, by route and model.",
        )
        self.attempts = _Counter(
            "rerankit_proxy_upstream_attempts_total",
            "Upstream calls, by model, deployment and outcome (ok or the error type).",
        )
        self.upstream_latency = _Histogram(
            "rerankit_proxy_upstream_duration_seconds",
            "Time of one upstream call, by model and deployment.",
        )
        self.cooldowns = _Counter(
            "rerankit_proxy_deployment_cooldowns_total",
            "Times a deployment was cooled down after failing, by model and deployment.",
        )
        self.fallbacks = _Counter(
            "rerankit_proxy_fallbacks_total", "Fallbacks taken, by model and fallback model."
        )
        self.in_flight = _Gauge(
            "rerankit_proxy_upstream_in_flight", "Upstream calls in flight, by deployment."
        )
        self.redis_errors = _Counter(
            "rerankit_proxy_redis_errors_total",
            "Shared-state Redis operations that failed (local state used instead), by operation.",
        )

    def record_request(
        self, route: str, model: str, status: int, seconds: float, error: str | None
    ) -> None:
        """One answered request."""
        base = (("route", route), ("model", model))
        self.requests.inc((*base, ("status", str(status))))
        self.latency.observe(base, seconds)
        if error is not None:
            self.errors.inc((*base, ("type", error)))

    def record_attempt(self, model: str, deployment: str, outcome: str, seconds: float) -> None:
        """One upstream call and how it ended."""
        labels = (("model", model), ("deployment", deployment))
        self.attempts.inc((*labels, ("outcome", outcome)))
        self.upstream_latency.observe(labels, seconds)

    def render(self) -> str:
        """The Prometheus text exposition of every metric."""
        lines: list[str] = []
        for metric in (
            self.requests,
            self.errors,
            self.latency,
            self.attempts,
            self.upstream_latency,
            self.cooldowns,
            self.fallbacks,
            self.in_flight,
            self.redis_errors,
        ):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


#: What the HTTP layer (`http_guard`) refused before the app saw a request, by reason (a
#: fixed set): `too_many_connections`, `headers_too_large`, `too_many_headers`,
#: `header_timeout`, `idle_timeout` (a new connection that sent nothing within
#: `header_timeout`). Process-wide, as the connections are; `GET /metrics` shows it
#: beside the app's own metrics.
HTTP_REFUSED = _Counter(
    "rerankit_proxy_http_refused_total",
    "Connections or requests the HTTP layer refused before the app saw them, by reason.",
)


def cache_lines(stats: Mapping[str, int]) -> Iterable[str]:
    """The response cache's counters (`rerankit-cache`'s `stats()`), as Prometheus text."""
    name = "rerankit_proxy_cache_total"
    yield f"# HELP {name} Response cache lookups and stores, by result."
    yield f"# TYPE {name} counter"
    for result, value in sorted(stats.items()):
        yield f"{name}{_labels((('result', str(result)),))} {_number(float(value))}"
