"""Spans of sync calls against a fake NIM on 127.0.0.1: structure, attributes, outcomes."""

from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import rerankit
from rerankit.errors import AuthenticationError, ServerError

from .conftest import DOCS, MODEL, NIM_KEY, QUERY

CALL_SPAN = "rerank nvidia/llama-3_2-nv-rerankqa-1b-v2"


def nim_client(telemetry, **options) -> rerankit.Client:
    return rerankit.Client(plugins=[telemetry.instrumentor()], retry_backoff=0, **options)


def test_call_and_attempt_spans_nest_under_the_callers_span(telemetry, nim):
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as user, nim_client(telemetry) as client:
        response = client.rerank(MODEL, QUERY, DOCS, top_n=2, api_base=nim.url, api_key=NIM_KEY)
        assert trace.get_current_span() is user  # nothing left attached
    call, attempt, outer = telemetry.span(CALL_SPAN), telemetry.span("POST"), user
    assert call.parent.span_id == outer.context.span_id
    assert attempt.parent.span_id == call.context.span_id
    assert call.context.trace_id == attempt.context.trace_id == outer.context.trace_id
    assert call.kind is attempt.kind is SpanKind.CLIENT
    assert call.status.status_code is attempt.status.status_code is StatusCode.UNSET
    port = int(nim.url.rsplit(":", 1)[1])
    assert dict(call.attributes) == {
        "gen_ai.operation.name": "rerank",
        "gen_ai.provider.name": "nvidia_nim",
        "gen_ai.request.model": "nvidia/llama-3_2-nv-rerankqa-1b-v2",
        "gen_ai.response.model": "nvidia/llama-3_2-nv-rerankqa-1b-v2",
        "rerankit.model": MODEL,
        "rerankit.response.model": MODEL,
        "rerankit.request.document_count": 3,
        "rerankit.request.top_n": 2,
        "rerankit.response.result_count": len(response.results),
        "gen_ai.response.id": response.id,
        "rerankit.attempts": 1,
        "rerankit.cached": False,
        "server.address": "127.0.0.1",
        "server.port": port,
    }
    assert dict(attempt.attributes) == {
        "http.request.method": "POST",
        "url.full": f"{nim.url}/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
        "gen_ai.provider.name": "nvidia_nim",
        "rerankit.model": MODEL,
        "rerankit.attempt.document_count": 3,
    }


def test_the_upstream_receives_the_attempt_spans_trace_context(telemetry, nim):
    with nim_client(telemetry) as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    attempt = telemetry.span("POST").context
    sent = nim.requests[-1].headers
    flags = f"{int(attempt.trace_flags):02x}"
    assert sent["traceparent"] == f"00-{attempt.trace_id:032x}-{attempt.span_id:016x}-{flags}"
    assert sent["authorization"] == f"Bearer {NIM_KEY}"  # the provider's header untouched


def test_propagate_false_sends_no_trace_context(telemetry, nim):
    with rerankit.Client(plugins=[telemetry.instrumentor(propagate=False)]) as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    assert "traceparent" not in nim.requests[-1].headers
    assert telemetry.span("POST")  # still traced


def test_a_retry_is_a_second_attempt_span(telemetry, nim):
    nim.enqueue_faults(["429"])
    with nim_client(telemetry) as client:
        client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    first, second = [s for s in telemetry.spans() if s.name == "POST"]
    call = telemetry.span(CALL_SPAN)
    assert first.parent.span_id == second.parent.span_id == call.context.span_id
    assert first.attributes["http.response.status_code"] == 429
    assert first.attributes["error.type"] == "RateLimitError"
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert second.status.status_code is StatusCode.UNSET
    assert call.attributes["rerankit.attempts"] == 2
    assert call.status.status_code is StatusCode.UNSET  # the call itself succeeded
    # each attempt carried its own span's context upstream
    sent = [r.headers["traceparent"].split("-")[2] for r in nim.requests]
    assert sent == [f"{first.context.span_id:016x}", f"{second.context.span_id:016x}"]


def test_a_failed_call_is_an_error_span_and_the_error_still_raises(telemetry, nim):
    nim.enqueue_faults(["status:500"])
    with nim_client(telemetry, max_retries=0) as client, pytest.raises(ServerError):
        client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY)
    call, attempt = telemetry.span(CALL_SPAN), telemetry.span("POST")
    assert call.status.status_code is StatusCode.ERROR
    assert call.status.description.startswith("ServerError: ")
    assert call.attributes["error.type"] == "ServerError"
    assert "gen_ai.response.model" not in call.attributes
    (event,) = call.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ServerError"
    assert attempt.attributes["http.response.status_code"] == 500
    assert attempt.status.status_code is StatusCode.ERROR


def test_a_connection_failure_names_the_error_on_the_attempt(telemetry):
    with nim_client(telemetry, max_retries=0) as client, pytest.raises(rerankit.ProviderError):
        # a port nothing listens on: 127.0.0.1:9 (discard) is closed on CI machines
        client.rerank(MODEL, QUERY, DOCS, api_base="http://127.0.0.1:9", api_key=NIM_KEY)
    attempt = telemetry.span("POST")
    assert "http.response.status_code" not in attempt.attributes
    assert attempt.attributes["error.type"] == "ProviderConnectionError"
    assert attempt.status.status_code is StatusCode.ERROR


def test_chunks_sent_from_worker_threads_stay_children_of_the_call(telemetry, nim):
    with nim_client(telemetry) as client:
        client.rerank(
            MODEL,
            QUERY,
            DOCS,
            api_base=nim.url,
            api_key=NIM_KEY,
            max_documents_per_request=1,
            max_concurrency=3,
        )
    call = telemetry.span(CALL_SPAN)
    attempts = [s for s in telemetry.spans() if s.name == "POST"]
    assert len(attempts) == 3
    assert {s.parent.span_id for s in attempts} == {call.context.span_id}
    assert sorted(s.attributes["rerankit.attempt.document_count"] for s in attempts) == [1, 1, 1]
    assert call.attributes["rerankit.attempts"] == 3


def test_a_local_provider_has_a_call_span_and_no_attempt_span(telemetry):
    with rerankit.Client(plugins=[telemetry.instrumentor()]) as client:
        client.rerank("local/bm25", "gpu memory", ["H100 memory", "cats"])
    (call,) = telemetry.spans()
    assert call.name == "rerank bm25"
    assert call.attributes["gen_ai.provider.name"] == "local"
    assert call.attributes["rerankit.attempts"] == 0
    assert "server.address" not in call.attributes


def test_no_key_or_url_credential_reaches_any_span(telemetry, nim):
    host = nim.url.removeprefix("http://")
    with nim_client(telemetry, max_retries=0) as client:
        with pytest.raises(AuthenticationError):  # httpx sends the userinfo as Basic auth
            client.rerank(
                MODEL, QUERY, DOCS, api_base=f"http://user:url-secret@{host}", api_key=NIM_KEY
            )
        with pytest.raises(AuthenticationError):
            client.rerank(MODEL, QUERY, DOCS, api_base=nim.url, api_key=NIM_KEY + "-wrong")
    exported = []
    for span in telemetry.spans():
        exported += [str(v) for v in span.attributes.values()]
        exported += [str(v) for e in span.events for v in e.attributes.values()]
        exported.append(span.status.description or "")
    assert len(telemetry.spans()) == 4
    text = "\n".join(exported)
    assert NIM_KEY not in text
    assert "url-secret" not in text
    assert f"{nim.url}/v1/retrieval" in text  # the URL is there, without its userinfo


def test_chunks_still_in_flight_when_the_call_fails_end_their_spans(telemetry, nim):
    # The first request to arrive fails at once; the two others are still waiting for
    # their answer when the call fails (and its span ends), and end afterwards.
    nim.enqueue_faults(["status:500", "slow:0.3", "slow:0.3"])
    with nim_client(telemetry, max_retries=0) as client, pytest.raises(ServerError):
        client.rerank(
            MODEL,
            QUERY,
            DOCS,
            api_base=nim.url,
            api_key=NIM_KEY,
            max_documents_per_request=1,
            max_concurrency=3,
        )
    deadline = time.monotonic() + 10
    while len(telemetry.spans()) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    call = telemetry.span(CALL_SPAN)
    attempts = [s for s in telemetry.spans() if s.name == "POST"]
    # A chunk whose thread had not started when the call failed never starts (on a busy
    # machine that can happen): two or three attempts, every one of them ended.
    assert 2 <= len(attempts) <= 3
    assert {a.parent.span_id for a in attempts} == {call.context.span_id}
    outcomes = sorted(str(a.attributes.get("http.response.status_code")) for a in attempts)
    assert outcomes[0] == "500" and set(outcomes[1:]) == {"None"}  # the others were cut off
    assert all(a.status.status_code is StatusCode.ERROR for a in attempts)
