"""Prometheus metrics, kept in plain dicts and written in the text exposition format.

Label values only ever come from the configuration (model names, deployment ids) or from
small fixed sets (routes, status codes, error types), never from what a caller sends, so
the number of series stays bounded.

One process (`--workers 1`, or an app made by `create_app`): the dicts are the values.
Several workers: `Metrics.share(directory)` makes every update also write the new value
into this worker's memory-mapped file (`metrics_files`), and a scrape adds up every
worker's file, so any worker answers for the whole server.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Protocol

from . import process_stats
from .metrics_files import Aggregation, Key, WorkerFile, aggregate, encode_key, is_alive
from .metrics_files import read_worker_files as _read_worker_files

__all__ = ["Metrics", "LATENCY_BUCKETS", "HTTP_REFUSED", "cache_lines", "SNAPSHOT_SECONDS"]

#: Seconds between two copies of a worker's process and cache numbers into its file (the
#: worker answering a scrape copies its own first).
SNAPSHOT_SECONDS = 1.0

#: Histogram bucket bounds in seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Labels = tuple[tuple[str, str], ...]


class _Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self.values: dict[Labels, float] = {}
        self._file: WorkerFile | None = None
        self._slots: dict[Labels, int] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def attach(self, file: WorkerFile) -> None:
        """Write every later update into `file` too (values so far included)."""
        self._file = file
        self._slots = {}
        for labels, value in self.values.items():
            file.write(self._slot(labels), value)
        # An instance attribute wins over the method: the unshared path stays as it was.
        setattr(self, "inc", self._shared_inc)  # noqa: B010
        setattr(self, "set", self._shared_set)  # noqa: B010

    def detach(self) -> None:
        """Stop writing into the file (`attach`)."""
        self.__dict__.pop("inc", None)
        self.__dict__.pop("set", None)
        self._file = None

    def _slot(self, labels: Labels) -> int:
        assert self._file is not None
        offset = self._slots[labels] = self._file.slot(encode_key(self.name, labels))
        return offset

    def _shared_inc(self, labels: Labels, amount: float = 1.0) -> None:
        value = self.values[labels] = self.values.get(labels, 0.0) + amount
        offset = self._slots.get(labels)
        assert self._file is not None
        self._file.write(self._slot(labels) if offset is None else offset, value)

    def _shared_set(self, labels: Labels, value: float) -> None:
        self.values[labels] = value
        offset = self._slots.get(labels)
        assert self._file is not None
        self._file.write(self._slot(labels) if offset is None else offset, value)

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
        self._file: WorkerFile | None = None
        #: labels -> offsets of each bucket's count, then of the sum
        self._slots: dict[Labels, list[int]] = {}

    def observe(self, labels: Labels, seconds: float) -> None:
        entry = self.values.get(labels)
        if entry is None:
            entry = self.values[labels] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
        entry[0][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        entry[1][0] += seconds

    def attach(self, file: WorkerFile) -> None:
        """Write every later observation into `file` too (those so far included)."""
        self._file = file
        self._slots = {}
        for labels, (counts, total) in self.values.items():
            slots = self._slots_of(labels)
            for offset, count in zip(slots, counts, strict=False):
                file.write(offset, count)
            file.write(slots[-1], total[0])
        setattr(self, "observe", self._shared_observe)  # noqa: B010

    def detach(self) -> None:
        """Stop writing into the file (`attach`)."""
        self.__dict__.pop("observe", None)
        self._file = None

    def _slots_of(self, labels: Labels) -> list[int]:
        # Every bucket at once, so a reader never sees a histogram with buckets missing.
        assert self._file is not None
        parts = [str(i) for i in range(len(LATENCY_BUCKETS) + 1)] + ["sum"]
        slots = [self._file.slot(encode_key(self.name, labels, part)) for part in parts]
        self._slots[labels] = slots
        return slots

    def _shared_observe(self, labels: Labels, seconds: float) -> None:
        entry = self.values.get(labels)
        if entry is None:
            entry = self.values[labels] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
            slots = self._slots_of(labels)
        else:
            slots = self._slots[labels]
        i = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        counts, total = entry
        counts[i] += 1
        total[0] += seconds
        assert self._file is not None
        self._file.write(slots[i], counts[i])
        self._file.write(slots[-1], total[0])

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
        self._file: WorkerFile | None = None
        self._snapshot_lock = threading.Lock()
        self._directory = ""
        self._cache: _HasStats | None = None

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

    def _metrics(self) -> tuple[_Counter | _Histogram, ...]:
        return (
            self.requests,
            self.errors,
            self.latency,
            self.attempts,
            self.upstream_latency,
            self.cooldowns,
            self.fallbacks,
            self.in_flight,
            self.redis_errors,
        )

    def render(self) -> str:
        """The Prometheus text exposition of this process's own metrics."""
        lines: list[str] = []
        for metric in self._metrics():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"

    @property
    def shared(self) -> bool:
        """Whether this process writes its metrics for the other workers (`share`)."""
        return self._file is not None

    def share(self, directory: str, cache: _HasStats | None = None) -> None:
        """Write this worker's metrics into a file of its own in `directory` (the private
        directory `serve` made for its workers), so any worker's `exposition` can add up
        every worker's. Also copies the process numbers and `cache`'s counters into it
        every `SNAPSHOT_SECONDS`, from a daemon thread."""
        self._directory = directory
        self._file = WorkerFile(directory, process_stats.started())
        self._cache = cache
        for metric in (*self._metrics(), HTTP_REFUSED):
            metric.attach(self._file)
        self._snapshot_slots: dict[Key, int] = {}
        self._snapshot()
        # A weak reference: the thread must not keep a discarded app's metrics alive.
        me = weakref.ref(self)
        stop = self._stop = threading.Event()

        def loop() -> None:
            while not stop.wait(SNAPSHOT_SECONDS):
                metrics = me()
                if metrics is None:
                    return
                metrics._snapshot()
                del metrics

        threading.Thread(target=loop, name="rerankit-metrics", daemon=True).start()

    def close(self) -> None:
        """Write the last snapshot and stop the snapshot thread (a dead worker's file keeps
        its CPU time and cache counters as they were then)."""
        if self._file is None:
            return
        self._stop.set()
        self._snapshot()
        with self._snapshot_lock:  # not while the thread writes
            for metric in (*self._metrics(), HTTP_REFUSED):
                metric.detach()
            self._file.close()
            self._file = None

    def _snapshot(self) -> None:
        """Copy the process numbers and the cache's counters into this worker's file."""
        with self._snapshot_lock:
            if self._file is not None:
                self._write_snapshot(self._file)

    def _write_snapshot(self, file: WorkerFile) -> None:
        values: dict[Key, float] = {
            (name, (), ""): value for name, value in process_stats.sample().items()
        }
        if self._cache is not None:
            for result, count in self._cache.stats().items():
                values[(_CACHE, (("result", str(result)),), "")] = float(count)
        slots = self._snapshot_slots
        for key, value in values.items():
            offset = slots.get(key)
            if offset is None:
                offset = slots[key] = file.slot(encode_key(*key))
            file.write(offset, value)

    def exposition(self, cache: _HasStats | None = None) -> str:
        """The `/metrics` body: the app's metrics, the HTTP layer's refusals, the response
        cache's counters (`cache`) and the process metrics; with `share`, those of every
        worker of this server added up."""
        if self._file is None:
            lines = [self.render().rstrip("\n"), *HTTP_REFUSED.render()]
            if cache is not None:
                lines.extend(cache_lines(cache.stats()))
            own: dict[Key, float] = {
                (name, (), ""): v for name, v in process_stats.sample().items()
            }
            lines.extend(_process_lines(own))
            return "\n".join(lines) + "\n"
        self._snapshot()  # this worker's own numbers as of now
        workers = list(_read_worker_files(self._directory))
        alive = {w.pid for w in workers if is_alive(w.pid)}
        totals = aggregate(workers, _HOW, alive)
        lines = []
        for metric in (*self._metrics(), HTTP_REFUSED):
            lines.extend(_rebuilt(metric, totals).render())
        if cache is not None:
            stats = {k[1][0][1]: int(v) for k, v in totals.items() if k[0] == _CACHE and k[1]}
            lines.extend(cache_lines(stats))
        lines.extend(_process_lines(totals))
        return "\n".join(lines) + "\n"


class _HasStats(Protocol):
    def stats(self) -> Mapping[str, int]: ...


_CACHE = "rerankit_proxy_cache_total"
#: How each metric is added up across workers: the gauges count live workers only.
_HOW: dict[str, Aggregation] = {
    "rerankit_proxy_upstream_in_flight": "livesum",
    **{name: how for name, (_, _, how) in process_stats.PROCESS_METRICS.items()},
}


def _rebuilt(metric: _Counter | _Histogram, totals: Mapping[Key, float]) -> _Counter | _Histogram:
    """A copy of `metric` holding the added-up values of `totals` (for rendering)."""
    copy = type(metric)(metric.name, metric.help)
    if isinstance(copy, _Histogram):
        n = len(LATENCY_BUCKETS) + 1
        for (name, labels, part), value in totals.items():
            if name != metric.name:
                continue
            entry = copy.values.get(labels)
            if entry is None:
                entry = copy.values[labels] = ([0] * n, [0.0])
            if part == "sum":
                entry[1][0] = value
            elif part.isdigit() and int(part) < n:
                entry[0][int(part)] = int(value)
    else:
        for (name, labels, _part), value in totals.items():
            if name == metric.name:
                copy.values[labels] = value
    return copy


def _process_lines(values: Mapping[Key, float]) -> Iterable[str]:
    for name, (kind, help_text, _how) in process_stats.PROCESS_METRICS.items():
        value = values.get((name, (), ""))
        if value is None:
            continue
        yield f"# HELP {name} {help_text}"
        yield f"# TYPE {name} {kind}"
        yield f"{name} {_number(value)}"


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
