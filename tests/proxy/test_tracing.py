"""The proxy continues a caller's trace: its upstream calls join the incoming trace context.

In process (ASGI) with the OpenTelemetry SDK and the rerankit-opentelemetry plugin
registered for every client; the upstream is a fake NIM on 127.0.0.1 that records headers.
"""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from rerankit.plugins import register_plugin, unregister_plugin
from rerankit_opentelemetry import RerankitInstrumentor
from rerankit_proxy import create_app, parse_config
from tests.fakes.nim_server import FakeNimServer
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def proxy_call(nim: FakeNimServer, headers: dict[str, str]) -> httpx.Response:
    config = parse_config(
        {
            "model_list": [
                {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url}}
            ],
            "general_settings": {"master_key": MASTER},
        },
        source="test.yaml",
    )
    app = create_app(config)
    await app.startup()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://proxy"
        ) as client:
            return await client.post(
                "/v2/rerank",
                json={"model": "m", "query": "gpu", "documents": ["gpu", "cat"]},
                headers={"Authorization": f"Bearer {MASTER}", **headers},
            )
    finally:
        await app.shutdown()


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    name = register_plugin(RerankitInstrumentor(tracer_provider=provider), "test-tracing")
    try:
        yield exporter
    finally:
        unregister_plugin(name=name)


async def test_the_upstream_call_joins_the_callers_trace(spans):
    with FakeNimServer() as nim:
        answer = await proxy_call(nim, {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
        sent = nim.requests[-1].headers["traceparent"]
    assert answer.status_code == 200, answer.text
    assert sent.split("-")[1] == TRACE_ID  # the same trace reaches the upstream
    (call,) = [s for s in spans.get_finished_spans() if s.name.startswith("rerank ")]
    assert format(call.context.trace_id, "032x") == TRACE_ID
    assert format(call.parent.span_id, "016x") == PARENT_ID  # a child of the caller's span


async def test_without_a_traceparent_each_request_starts_its_own_trace(spans):
    with FakeNimServer() as nim:
        answer = await proxy_call(nim, {})
        sent = nim.requests[-1].headers["traceparent"]
    assert answer.status_code == 200, answer.text
    (call,) = [s for s in spans.get_finished_spans() if s.name.startswith("rerank ")]
    assert call.parent is None and sent.split("-")[1] != TRACE_ID
