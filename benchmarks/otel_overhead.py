"""Per-call overhead of rerankit-opentelemetry: `uv run python benchmarks/otel_overhead.py`.

Compares, per call (best of 5 timeit repeats): no plugin; a plugin whose hooks do nothing
(the core's cost of building the call's and attempts' contexts); the plugin installed and
switched on with no SDK configured (the API's no-op providers); the plugin with the SDK,
an in-memory span exporter (SimpleSpanProcessor) and an in-memory metric reader. Two
calls: `local/bm25` on 3 short documents (no I/O), and a NIM call over an
`httpx.MockTransport` (one attempt span, trace context injected).
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

import rerankit
from rerankit.testing import CannedResponse, FakeUpstream
from rerankit_opentelemetry import RerankitInstrumentor

NIM = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
DOCS = ["H100 memory bandwidth is 3 TB/s", "A100 is fast", "cats sleep a lot"]
ANSWER = {
    "rankings": [
        {"index": 1, "logit": 0.5},
        {"index": 0, "logit": 0.2},
        {"index": 2, "logit": -1.0},
    ]
}


class EmptyPlugin:
    """Implements the call hooks and does nothing: the core's own cost of observing a call."""

    @rerankit.hookimpl
    def rerank_call_started(self, call: object) -> None:
        pass

    @rerankit.hookimpl
    def rerank_attempt_started(self, call: object, attempt: object) -> None:
        pass


def sdk() -> tuple[RerankitInstrumentor, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    plugin = RerankitInstrumentor(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return plugin, exporter


def main(rounds: int = 9) -> None:
    upstream = FakeUpstream(CannedResponse.from_json(ANSWER))
    with_sdk, exporter = sdk()
    setups: dict[str, list[object]] = {
        "no plugin": [],
        "empty life-cycle plugin": [EmptyPlugin()],
        "plugin, no SDK": [RerankitInstrumentor()],
        "plugin + SDK (in-memory)": [with_sdk],
    }
    calls: dict[tuple[str, str], Callable[[], object]] = {}
    for name, plugins in setups.items():
        client = rerankit.Client(plugins=plugins, transport=upstream.transport)
        calls[name, "local"] = lambda c=client: c.rerank("local/bm25", "gpu memory", DOCS)
        calls[name, "nim"] = lambda c=client: c.rerank(
            NIM, "gpu memory", DOCS, api_key="k", api_base="http://nim"
        )
    best = dict.fromkeys(calls, float("inf"))
    # Rounds interleave the setups, so a busy moment of a shared machine hits them alike;
    # the best round of each is kept.
    for _ in range(rounds):
        for key, call in calls.items():
            number = 1000 if key[1] == "local" else 300
            call()
            best[key] = min(best[key], timeit.timeit(call, number=number) / number)
            exporter.clear()
            upstream.clear()
    print(f"{'setup':26} {'local/bm25':>20} {'NIM, MockTransport':>22}")
    for name in setups:
        cells = []
        for kind in ("local", "nim"):
            value, base = best[name, kind], best["no plugin", kind]
            extra = f" ({(value - base) * 1e6:+.1f})" if name != "no plugin" else ""
            cells.append(f"{value * 1e6:.1f} µs{extra}")
        print(f"{name:26} {cells[0]:>20} {cells[1]:>22}")


if __name__ == "__main__":
    main()
