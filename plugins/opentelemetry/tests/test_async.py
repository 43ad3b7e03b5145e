"""AsyncClient: spans parented to each task's current span; the caller's context untouched."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import rerankit
from rerankit.errors import ServerError

from .conftest import DOCS, MODEL, NIM_KEY, QUERY

CALL_SPAN = "rerank nvidia/llama-3_2-nv-rerankqa-1b-v2"


async def test_concurrent_calls_each_nest_under_their_own_tasks_span(telemetry, nim):
    tracer = telemetry.tracer_provider.get_tracer("app")

    async def handle(name: str, client: rerankit.AsyncClient) -> int:
        with tracer.start_as_current_span(name) as user:
            await client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
            assert trace.get_current_span() is user
            return user.get_span_context().span_id

    async with rerankit.AsyncClient(plugins=[telemetry.instrumentor()]) as client:
        ids = await asyncio.gather(handle("a", client), handle("b", client))
    calls = [s for s in telemetry.spans() if s.name == CALL_SPAN]
    attempts = [s for s in telemetry.spans() if s.name == "POST"]
    assert sorted(c.parent.span_id for c in calls) == sorted(ids)
    for call in calls:
        (attempt,) = [a for a in attempts if a.parent.span_id == call.context.span_id]
        # the upstream got this attempt's trace context, not the other task's
        sent = {r.headers["traceparent"].split("-")[2] for r in nim.requests}
        assert f"{attempt.context.span_id:016x}" in sent
    assert len(attempts) == 2


async def test_a_failing_async_call_leaves_the_context_as_it_was(telemetry, nim):
    tracer = telemetry.tracer_provider.get_tracer("app")
    nim.enqueue_faults(["status:503"])
    client = rerankit.AsyncClient(plugins=[telemetry.instrumentor()], max_retries=0)
    async with client:
        with tracer.start_as_current_span("user") as user:
            with pytest.raises(ServerError):
                await client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
            assert trace.get_current_span() is user
    assert trace.get_current_span() is trace.INVALID_SPAN
    call = telemetry.span(CALL_SPAN)
    assert call.status.status_code is StatusCode.ERROR
    assert call.parent.span_id == user.get_span_context().span_id


async def test_async_chunks_in_their_own_tasks_stay_children_of_the_call(telemetry, nim):
    client = rerankit.AsyncClient(plugins=[telemetry.instrumentor()])
    async with client:
        await client.rerank(
            MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY, max_documents_per_request=1
        )
    call = telemetry.span(CALL_SPAN)
    attempts = [s for s in telemetry.spans() if s.name == "POST"]
    assert len(attempts) == 3
    assert {a.parent.span_id for a in attempts} == {call.context.span_id}
    assert call.parent is None  # no span was current: the call span is a root
