"""The clients over in-process transports: routing, params, errors, post-processing, pooling."""

from __future__ import annotations

import json
import warnings

import httpx
import pytest

import rerankit
from rerankit import AsyncClient, Client
from rerankit.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidModelError,
    InvalidParameterError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
    UnknownProviderError,
)

from .fakes import EchoProvider, registry

DOCS = ["alpha", "beta", "gamma"]


def scoring_handler(seen: list[httpx.Request] | None = None):
    """Scores document i as len(text) - i/10, answers in input order (unsorted)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        body = json.loads(request.content)
        results = [{"index": i, "score": len(d) - i / 10} for i, d in enumerate(body["documents"])]
        return httpx.Response(200, json={"id": "abc", "results": results})

    return handle


def client(handler=None, **kwargs) -> Client:
    kwargs.setdefault("max_retries", 0)  # error mapping here; retries: tests/core/test_retry*.py
    transport = httpx.MockTransport(handler or scoring_handler())
    return Client(transport=transport, registry=registry(), **kwargs)


def test_results_are_sorted_best_first_with_documents():
    r = client().rerank("echo/m1", "q", ["a", "ccc", "bb"])
    assert [x.index for x in r.results] == [1, 2, 0]
    assert [x.document.text for x in r.results] == ["ccc", "bb", "a"]
    assert r.model == "echo/m1" and r.id == "abc"
    assert r.meta.provider == "echo"


def test_model_dump_is_cohere_shape():
    dumped = client().rerank("echo/m1", "q", ["a", "ccc"], top_n=1).model_dump(exclude_none=True)
    assert dumped["results"] == [{"index": 1, "relevance_score": 2.9, "document": {"text": "ccc"}}]


def test_top_n_cuts_after_sorting_and_larger_top_n_returns_all():
    c = client()
    assert [x.index for x in c.rerank("echo/m", "q", ["a", "ccc", "bb"], top_n=2).results] == [1, 2]
    assert len(c.rerank("echo/m", "q", DOCS, top_n=99).results) == 3


def test_return_documents_false_omits_documents():
    r = client().rerank("echo/m", "q", DOCS, return_documents=False)
    assert all(x.document is None for x in r.results)
    assert "document" not in r.model_dump(exclude_none=True)["results"][0]


def test_object_documents_keep_text_and_fields():
    docs = [{"text": "short", "id": 7}, {"text": "much longer"}]
    r = client().rerank("echo/m", "q", docs)
    assert r.results[0].document.text == "much longer"
    assert r.results[1].document.model_dump() == {"text": "short", "id": 7}


def test_ties_keep_input_order():
    def handle(request):
        return httpx.Response(
            200, json={"results": [{"index": 1, "score": 1}, {"index": 0, "score": 1}]}
        )

    assert [x.index for x in client(handle).rerank("echo/m", "q", ["x", "y"]).results] == [0, 1]


def test_provider_params_pass_through_and_are_validated():
    seen: list[httpx.Request] = []
    c = client(scoring_handler(seen))
    c.rerank("echo/m", "q", DOCS, mode="b")
    assert json.loads(seen[0].content)["mode"] == "b"
    with pytest.raises(InvalidParameterError, match="'mode' must be one of 'a', 'b'"):
        c.rerank("echo/m", "q", DOCS, mode="c")
    with pytest.raises(InvalidParameterError, match="must be str"):
        c.rerank("echo/m", "q", DOCS, mode=3)


def test_unknown_param_is_an_error_listing_accepted_ones():
    with pytest.raises(InvalidParameterError) as info:
        client().rerank("echo/m", "q", DOCS, top_k=2)
    message = str(info.value)
    assert "top_k" in message and "mode" in message and "drop_params=True" in message


def test_drop_params_drops_with_warning():
    seen: list[httpx.Request] = []
    with pytest.warns(rerankit.RerankitWarning, match="top_k"):
        client(scoring_handler(seen)).rerank("echo/m", "q", DOCS, top_k=2, drop_params=True)
    assert "top_k" not in json.loads(seen[0].content)
    with warnings.catch_warnings(record=True):
        client(drop_params=True).rerank("echo/m", "q", DOCS, top_k=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "query is empty"),
        ({"query": "   "}, "query is empty"),
        ({"query": None}, "query must be a string"),
        ({"documents": []}, "documents is empty"),
        ({"documents": "abc"}, "must be a list"),
        ({"documents": ["a", None]}, r"documents\[1\] must be a string"),
        ({"documents": ["a", 3]}, r"documents\[1\]"),
        ({"documents": [{"txt": "a"}]}, r"documents\[0\]"),
        ({"documents": [{"text": 5}]}, r"documents\[0\]"),
        ({"top_n": 0}, "top_n must be >= 1"),
        ({"top_n": 1.5}, "top_n must be a whole number"),
        ({"top_n": True}, "top_n must be a whole number"),
        ({"return_documents": "no"}, "return_documents must be True or False"),
    ],
)
def test_bad_input_is_rejected_before_any_request(kwargs, message):
    seen: list[httpx.Request] = []
    call = {"query": "q", "documents": DOCS, **kwargs}
    with pytest.raises(InvalidRequestError, match=message):
        client(scoring_handler(seen)).rerank("echo/m", **call)
    assert seen == []


def test_unicode_and_empty_documents_round_trip():
    docs = ["日本語のテキスト", "emoji 🎉👍", "עברית מימין לשמאל", "e\u0301 combining", ""]
    r = client().rerank("echo/m", "クエリ", docs)
    assert sorted(x.document.text for x in r.results) == sorted(docs)


def test_unknown_prefix_lists_installed_and_suggests():
    with pytest.raises(UnknownProviderError) as info:
        client().rerank("ecoh/m", "q", DOCS)
    assert "'echo'" in str(info.value) and "Did you mean 'echo'" in str(info.value)


@pytest.mark.parametrize("model", ["echo", "/m", "echo/", ""])
def test_malformed_model_strings(model):
    with pytest.raises(InvalidModelError, match="<provider>/<model>"):
        client().rerank(model, "q", DOCS)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (413, RequestTooLargeError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_status_errors_are_typed_and_carry_context(status, error):
    def handle(request):
        return httpx.Response(status, json={"detail": "upstream says no"})

    with pytest.raises(error) as info:
        client(handle).rerank("echo/m", "q", DOCS, api_key="sk-very-secret")
    exc = info.value
    assert exc.status_code == status and exc.provider == "Echo" and exc.model == "echo/m"
    assert "upstream says no" in str(exc)
    assert "sk-very-secret" not in str(exc) + repr(exc) + (exc.body or "")


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0", 0.0), ("soon", None)])
def test_rate_limit_carries_retry_after(header, seconds):
    def handle(request):
        return httpx.Response(429, headers={"Retry-After": header}, text="slow down")

    with pytest.raises(RateLimitError) as info:
        client(handle).rerank("echo/m", "q", DOCS)
    assert info.value.retry_after == seconds


def test_html_error_page_is_trimmed_in_error():
    page = "<html>" + "x" * 5000 + "</html>"

    def handle(request):
        return httpx.Response(502, text=page, headers={"content-type": "text/html"})

    with pytest.raises(ServerError) as info:
        client(handle).rerank("echo/m", "q", DOCS)
    assert len(info.value.body) < 600


@pytest.mark.parametrize(
    "results",
    [
        [{"index": 0, "score": 1}, {"index": 5, "score": 1}, {"index": 1, "score": 0}],
        [{"index": 0, "score": 1}, {"index": 0, "score": 1}, {"index": 1, "score": 0}],
        [{"index": 0, "score": 1}, {"index": 1, "score": 0}],
        [{"index": 0, "score": "high"}, {"index": 1, "score": 0}, {"index": 2, "score": 0}],
        [{"index": -1, "score": 1}, {"index": 1, "score": 0}, {"index": 2, "score": 0}],
    ],
)
def test_wrong_rankings_are_rejected_not_returned(results):
    def handle(request):
        return httpx.Response(200, json={"results": results})

    with pytest.raises(InvalidResponseError):
        client(handle).rerank("echo/m", "q", DOCS)


def test_transport_errors_are_typed_without_secrets():
    def refuse(request):
        raise httpx.ConnectError("connection refused")

    def slow(request):
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(ProviderConnectionError, match="Could not reach Echo"):
        client(refuse).rerank("echo/m", "q", DOCS, api_key="sk-very-secret")
    with pytest.raises(ProviderTimeoutError, match="did not answer in time") as info:
        client(slow).rerank("echo/m", "q", DOCS, api_key="sk-very-secret")
    assert "sk-very-secret" not in str(info.value)


def test_key_and_base_come_from_arguments_then_env(monkeypatch):
    seen: list[httpx.Request] = []
    c = client(scoring_handler(seen))
    monkeypatch.setenv("ECHO_API_KEY", "from-env")
    monkeypatch.setenv("ECHO_API_BASE", "https://env.test")
    c.rerank("echo/m", "q", DOCS)
    c.rerank("echo/m", "q", DOCS, api_key="from-arg", api_base="https://arg.test")
    assert [r.headers["authorization"] for r in seen] == ["Bearer from-env", "Bearer from-arg"]
    assert [r.url.host for r in seen] == ["env.test", "arg.test"]


def test_client_reuses_one_http_client_and_closes_it():
    with client() as c:
        c.rerank("echo/m", "q", DOCS)
        first = c._http
        c.rerank("echo/m", "q", DOCS)
        assert c._http is first
    assert first.is_closed


def test_injected_http_client_is_used():
    http = httpx.Client(transport=httpx.MockTransport(scoring_handler()))
    c = Client(http_client=http, registry=registry())
    assert c.rerank("echo/m", "q", DOCS).results


async def test_async_client_matches_sync():
    transport = httpx.MockTransport(scoring_handler())
    async with AsyncClient(transport=transport, registry=registry()) as c:
        r = await c.rerank("echo/m", "q", ["a", "ccc", "bb"], top_n=2)
        http = c._http
    assert [x.index for x in r.results] == [1, 2]
    assert r == client().rerank("echo/m", "q", ["a", "ccc", "bb"], top_n=2).model_copy(
        update={"id": r.id}
    )
    assert http.is_closed


async def test_async_errors_are_typed():
    def handle(request):
        return httpx.Response(401, json={"message": "bad key"})

    async with AsyncClient(transport=httpx.MockTransport(handle), registry=registry()) as c:
        with pytest.raises(AuthenticationError, match="bad key"):
            await c.rerank("echo/m", "q", DOCS)


def test_provider_instance_is_shared_per_registry():
    reg = registry()
    assert isinstance(reg.get("echo"), EchoProvider)


def test_key_echoed_by_the_upstream_is_redacted_from_the_error():
    key = "sk-echoed-secret-123"

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": f"invalid api key: {key}"})

    client = Client(registry=registry(), transport=httpx.MockTransport(handle))
    with pytest.raises(AuthenticationError) as info:
        client.rerank("echo/m", "q", DOCS, api_key=key)
    assert key not in str(info.value) and key not in (info.value.body or "")
    assert "invalid api key: ***" in str(info.value)
