"""The OpenTelemetry SDK with in-memory exporters, and a fake NIM on 127.0.0.1.

Each test gets its own TracerProvider and MeterProvider, passed to the instrumentor: the
process-wide providers can be set only once, so the tests that need them run in a
subprocess (test_switch.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rerankit_opentelemetry import RerankitInstrumentor
from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-otel-test-key-never-exported"
MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
QUERY = "what is the memory bandwidth of H100"
DOCS = [
    "A100 provides up to 20X higher performance.",
    "H100 memory bandwidth is 3 TB/s per GPU.",
    "Grace connects to Hopper with 900GB/s.",
]


@dataclass
class Telemetry:
    """An SDK set up for one test: what it exported, and an instrumentor that uses it."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def instrumentor(self, **options: object) -> RerankitInstrumentor:
        return RerankitInstrumentor(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            **options,  # type: ignore[arg-type]
        )

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        (found,) = [s for s in self.spans() if s.name == name]
        return found

    def points(self, metric: str) -> list[HistogramDataPoint]:
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found += m.data.data_points  # type: ignore[arg-type]
        return found


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield Telemetry(tracer_provider, meter_provider, exporter, reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture(scope="session")
def nim_server() -> Iterator[FakeNimServer]:
    with FakeNimServer(api_key=NIM_KEY) as server:
        yield server


@pytest.fixture
def nim(nim_server: FakeNimServer) -> FakeNimServer:
    nim_server.clear()
    return nim_server
