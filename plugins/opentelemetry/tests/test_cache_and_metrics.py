"""A cache plugin's answer, the metrics, and what happens without an SDK."""

from __future__ import annotations

import pytest
from opentelemetry import metrics, trace

import rerankit
from rerankit.errors import ServerError
from rerankit_opentelemetry import RerankitInstrumentor

from .conftest import DOCS, MODEL, NIM_KEY, QUERY


class FixedCache:
    """A cache plugin that has every answer: documents ranked in reverse order."""

    @rerankit.hookimpl
    def rerank_cached_ranking(self, call):
        return rerankit.Ranking([(i, float(i)) for i in range(len(call.documents))])


def test_a_cached_answer_is_a_call_span_without_attempts(telemetry, nim):
    client = rerankit.Client(plugins=[telemetry.instrumentor(), FixedCache()])
    with client:
        response = client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    assert response.meta.cached is True
    assert nim.requests == []
    (call,) = telemetry.spans()
    assert call.attributes["rerankit.cached"] is True
    assert call.attributes["rerankit.attempts"] == 0
    (point,) = telemetry.points("gen_ai.client.operation.duration")
    assert point.attributes["rerankit.cached"] is True


def test_duration_and_document_histograms(telemetry, nim):
    with rerankit.Client(plugins=[telemetry.instrumentor()], max_retries=0) as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
        client.rerank(MODEL, QUERY, DOCS[:2], api_base=nim.url, api_key=NIM_KEY)
        nim.enqueue_faults(["status:500"])
        with pytest.raises(ServerError):
            client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    port = int(nim.url.rsplit(":", 1)[1])
    ok = {
        "gen_ai.operation.name": "rerank",
        "gen_ai.provider.name": "nvidia_nim",
        "gen_ai.request.model": "nvidia/llama-3_2-nv-rerankqa-1b-v2",
        "gen_ai.response.model": "nvidia/llama-3_2-nv-rerankqa-1b-v2",
        "rerankit.cached": False,
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    failed = {**ok, "error.type": "ServerError"}
    del failed["gen_ai.response.model"]
    durations = {
        frozenset(p.attributes.items()): p
        for p in telemetry.points("gen_ai.client.operation.duration")
    }
    assert set(durations) == {frozenset(ok.items()), frozenset(failed.items())}
    assert durations[frozenset(ok.items())].count == 2
    assert durations[frozenset(failed.items())].count == 1
    assert all(p.sum > 0 for p in durations.values())
    documents = {
        frozenset(p.attributes.items()): p for p in telemetry.points("rerankit.client.documents")
    }
    assert documents[frozenset(ok.items())].sum == 5  # 3 + 2 documents
    assert documents[frozenset(ok.items())].count == 2


def test_without_an_sdk_calls_work_and_nothing_is_sent_upstream(nim):
    plugin = RerankitInstrumentor(
        tracer_provider=trace.NoOpTracerProvider(), meter_provider=metrics.NoOpMeterProvider()
    )
    with rerankit.Client(plugins=[plugin]) as client:
        response = client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    assert len(response.results) == 3
    assert "traceparent" not in nim.requests[-1].headers


def test_a_client_instrumentor_and_a_process_wide_one_make_one_span(telemetry, nim):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import rerankit_opentelemetry

    other = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(other))
    rerankit_opentelemetry.instrument(tracer_provider=provider)
    try:
        with rerankit.Client(plugins=[telemetry.instrumentor()]) as client:
            client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
        with rerankit.Client() as plain:
            plain.rerank("local/bm25", QUERY, DOCS)
    finally:
        rerankit_opentelemetry.uninstrument()
    # the client's own instrumentor traced its call, the process-wide one the other
    assert sorted(s.name for s in telemetry.spans()) == [
        "POST",
        "rerank nvidia/llama-3_2-nv-rerankqa-1b-v2",
    ]
    assert [s.name for s in other.get_finished_spans()] == ["rerank bm25"]
    # each attempt carries one traceparent: the client instrumentor's
    attempt = telemetry.span("POST").context
    assert nim.requests[-1].headers["traceparent"].split("-")[1] == f"{attempt.trace_id:032x}"
