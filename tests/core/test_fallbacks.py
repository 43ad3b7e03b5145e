"""Fallbacks: the next model answers when one fails after its retries, never on bad input."""

from __future__ import annotations

import json

import httpx
import pytest

from rerankit import AsyncClient, Client, LocalProvider, Param, Ranking
from rerankit.errors import (
    BadRequestError,
    InvalidParameterError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnknownProviderError,
)
from rerankit.registry import ProviderRegistry

from .fakes import EchoProvider

DOCS = ["alpha", "beta", "gamma"]


class Lengths(LocalProvider):
    """A local scorer: longer documents rank higher."""

    name = "Lengths"
    params = {"weight": Param(float)}  # noqa: RUF012

    def rerank(self, request):
        return Ranking([(i, float(len(d))) for i, d in enumerate(request.documents)])


class Other(EchoProvider):
    name = "Other"
    api_key_env = "OTHER_API_KEY"
    api_base_env = ("OTHER_API_BASE",)


def reg() -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("echo", EchoProvider())
    registry.register("other", Other())
    registry.register("lengths", Lengths())
    return registry


def routed(statuses: dict[str, list[int]], seen: list[httpx.Request]):
    """Per host: play the listed statuses, then answer with scores -index."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        queue = statuses.get(request.url.host, [])
        if queue:
            return httpx.Response(queue.pop(0), json={"detail": "failing"})
        docs = json.loads(request.content)["documents"]
        return httpx.Response(
            200, json={"results": [{"index": i, "score": -i} for i in range(len(docs))]}
        )

    return handle


def make(handler, **kwargs) -> Client:
    kwargs.setdefault("retry_backoff", 0.001)
    return Client(transport=httpx.MockTransport(handler), registry=reg(), **kwargs)


def test_server_errors_fall_back_to_a_local_model():
    seen: list[httpx.Request] = []
    client = make(routed({"fake.test": [503] * 3}, seen))
    r = client.rerank("echo/m", "q", DOCS, fallbacks=["lengths/x"])
    assert r.model == "lengths/x" and r.meta.provider == "lengths"
    assert [x.index for x in r.results] == [0, 2, 1]  # alpha, gamma: 5 chars; beta: 4
    assert r.meta.fallbacks_tried == [
        {"model": "echo/m", "error": "ServerError", "status_code": 503, "attempts": 3}
    ]
    assert len(seen) == 3


def test_rate_limit_falls_back_to_the_next_http_model_then_stops(monkeypatch):
    monkeypatch.setenv("OTHER_API_BASE", "https://other.test")
    seen: list[httpx.Request] = []
    client = make(
        routed({"fake.test": [429] * 3}, seen), fallbacks=["other/m2", "lengths/x"], max_retries=2
    )
    r = client.rerank("echo/m", "q", DOCS)
    assert r.model == "other/m2" and r.meta.attempts == 1
    assert [req.url.host for req in seen] == ["fake.test"] * 3 + ["other.test"]
    assert [t["model"] for t in r.meta.fallbacks_tried] == ["echo/m"]


def test_the_primary_succeeding_uses_no_fallback():
    seen: list[httpx.Request] = []
    r = make(routed({}, seen), fallbacks=["lengths/x"]).rerank("echo/m", "q", DOCS)
    assert r.model == "echo/m" and r.meta.fallbacks_tried == [] and len(seen) == 1


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequestError), (404, NotFoundError), (422, BadRequestError)]
)
def test_caller_errors_never_fall_back(status, error):
    seen: list[httpx.Request] = []
    with pytest.raises(error):
        make(routed({"fake.test": [status]}, seen)).rerank(
            "echo/m", "q", DOCS, fallbacks=["lengths/x"]
        )
    assert len(seen) == 1


@pytest.mark.parametrize("status", [401, 403, 307])
def test_a_rejected_deployment_key_or_url_falls_back_without_a_retry(status, monkeypatch, caplog):
    monkeypatch.setenv("OTHER_API_BASE", "https://other.test")
    seen: list[httpx.Request] = []
    r = make(routed({"fake.test": [status]}, seen)).rerank(
        "echo/m", "q", DOCS, fallbacks=["other/m2"], api_key="sk-secret-echo"
    )
    assert r.model == "other/m2"
    assert [req.url.host for req in seen] == ["fake.test", "other.test"]  # no retry
    assert r.meta.fallbacks_tried[0]["status_code"] == status
    assert "rejected" in caplog.text and "sk-secret-echo" not in caplog.text


def test_validation_errors_never_fall_back():
    with pytest.raises(InvalidParameterError, match="mode"):
        make(routed({}, [])).rerank("echo/m", "q", DOCS, mode="zzz", fallbacks=["lengths/x"])


def test_invalid_answer_falls_back():
    def handle(request):
        if request.url.host == "fake.test":
            return httpx.Response(200, json=[1, 2])
        return routed({}, [])(request)

    r = make(handle).rerank("echo/m", "q", DOCS, fallbacks=["lengths/x"])
    assert r.model == "lengths/x"
    assert r.meta.fallbacks_tried[0]["error"] == "InvalidResponseError"


def test_every_model_failing_raises_the_last_error_naming_the_chain(monkeypatch):
    monkeypatch.setenv("OTHER_API_BASE", "https://other.test")
    seen: list[httpx.Request] = []
    client = make(routed({"fake.test": [500] * 9, "other.test": [429] * 9}, seen), max_retries=0)
    with pytest.raises(RateLimitError) as info:
        client.rerank("echo/m", "q", DOCS, fallbacks=["other/m"])
    assert "every fallback failed; earlier: echo/m: ServerError" in str(info.value)


def test_fallback_gets_only_its_own_key_and_accepted_params(monkeypatch):
    monkeypatch.setenv("OTHER_API_BASE", "https://other.test")
    seen: list[httpx.Request] = []
    client = make(routed({"fake.test": [502]}, seen), max_retries=0)
    r = client.rerank("echo/m", "q", DOCS, api_key="sk-echo-only", mode="a", fallbacks=["other/m2"])
    assert r.model == "other/m2"
    primary, fallback = seen
    assert primary.headers["authorization"] == "Bearer sk-echo-only"
    assert "authorization" not in fallback.headers  # a key for one vendor never goes to another
    assert json.loads(fallback.content)["mode"] == "a"  # Other accepts `mode` too


def test_fallback_drops_params_it_does_not_accept_silently():
    seen: list[httpx.Request] = []
    r = make(routed({"fake.test": [500]}, seen), max_retries=0).rerank(
        "echo/m", "q", DOCS, mode="b", fallbacks=["lengths/x"]
    )
    assert r.model == "lengths/x"


def test_unknown_fallback_prefix_fails_before_sending():
    seen: list[httpx.Request] = []
    with pytest.raises(UnknownProviderError):
        make(routed({}, seen)).rerank("echo/m", "q", DOCS, fallbacks=["nope/x"])
    assert seen == []


@pytest.mark.parametrize("value", ["lengths/x", ["no-slash"], [3]])
def test_fallbacks_must_be_a_list_of_model_strings(value):
    with pytest.raises(InvalidParameterError, match="fallbacks"):
        make(routed({}, [])).rerank("echo/m", "q", DOCS, fallbacks=value)


async def test_async_fallbacks_per_client():
    seen: list[httpx.Request] = []
    async with AsyncClient(
        transport=httpx.MockTransport(routed({"fake.test": [504] * 4}, seen)),
        registry=reg(),
        fallbacks=["lengths/x"],
        retry_backoff=0.001,
    ) as client:
        r = await client.rerank("echo/m", "q", DOCS)
        assert r.model == "lengths/x" and r.meta.fallbacks_tried[0]["attempts"] == 3
        with pytest.raises(ServerError):
            await client.rerank("echo/m", "q", DOCS, fallbacks=[], max_retries=0)
