"""Life-cycle hooks: what plugins see of calls and attempts, caches, failing plugins."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

import rerankit
from rerankit import Ranking, hookimpl
from rerankit.errors import BadRequestError, InvalidResponseError, PluginLoadError
from rerankit.lifecycle import Lifecycle
from rerankit.plugins import get_lifecycle
from rerankit.testing import HookRecorder, registered_plugin

from .fakes import EchoProvider, registry

KEY = "sk-echo-secret-0001"
DOCS = ["alpha", "beta", "gamma"]


def upstream(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Answer with the queued statuses first, then scores -index for every document."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if statuses:
            return httpx.Response(statuses.pop(0), json={"detail": "nope"})
        docs = json.loads(request.content)["documents"]
        return httpx.Response(
            200, json={"results": [{"index": i, "score": -i} for i in range(len(docs))]}
        )

    return httpx.MockTransport(handle)


def client(statuses: list[int], seen: list[httpx.Request]) -> rerankit.Client:
    return rerankit.Client(
        transport=upstream(statuses, seen), registry=registry(echo=EchoProvider()), retry_backoff=0
    )


def async_client(statuses: list[int], seen: list[httpx.Request]) -> rerankit.AsyncClient:
    return rerankit.AsyncClient(
        transport=upstream(statuses, seen), registry=registry(echo=EchoProvider()), retry_backoff=0
    )


CALL_ORDER = [
    "rerank_call_started",
    "rerank_cached_ranking",
    "rerank_attempt_started",
    "rerank_attempt_finished",
    "rerank_attempt_started",
    "rerank_attempt_finished",
    "rerank_call_finished",
]


def check_retried_call(recorder: HookRecorder, *, is_async: bool) -> None:
    assert recorder.names() == CALL_ORDER
    (call,) = recorder.calls()
    assert (call.model, call.prefix, call.provider, call.provider_model) == (
        "echo/m",
        "echo",
        "Echo",
        "m",
    )
    assert list(call.documents) == DOCS and call.query == "q" and call.top_n == 2
    assert call.params == {"mode": "a"} and call.is_async is is_async
    assert call.attempts == 2 and call.error is None and not call.cached
    assert call.response is not None and [r.index for r in call.response.results] == [0, 1]
    assert call.ranking is not None and len(call.ranking.scores) == 3  # before top_n
    assert call.duration is not None and call.duration >= 0
    first, second = recorder.attempts()
    assert (first.number, first.status_code, second.number, second.status_code) == (1, 503, 2, 200)
    assert isinstance(first.error, rerankit.errors.ServerError) and second.error is None
    assert first.url == "https://fake.test/rerank" and first.document_range == (0, 3)
    # the key is nowhere a plugin can see it
    assert KEY not in repr(recorder.events)


def test_sync_calls_and_attempts_reach_the_hooks_in_order():
    recorder = HookRecorder()
    seen: list[httpx.Request] = []
    with registered_plugin(recorder), client([503], seen) as c:
        c.rerank("echo/m", "q", DOCS, top_n=2, mode="a", api_key=KEY)
    check_retried_call(recorder, is_async=False)


async def test_async_calls_and_attempts_reach_the_hooks_in_order():
    recorder = HookRecorder()
    seen: list[httpx.Request] = []
    with registered_plugin(recorder):
        async with async_client([503], seen) as c:
            await c.rerank("echo/m", "q", DOCS, top_n=2, mode="a", api_key=KEY)
    check_retried_call(recorder, is_async=True)


def test_a_failed_call_reports_its_error():
    recorder = HookRecorder()
    with registered_plugin(recorder), client([400], []) as c, pytest.raises(BadRequestError):
        c.rerank("echo/m", "q", DOCS)
    (call,) = recorder.calls()
    assert isinstance(call.error, BadRequestError) and call.response is None
    assert recorder.attempts()[0].status_code == 400


def test_without_plugins_the_hooks_are_off():
    assert not get_lifecycle().active
    with registered_plugin(HookRecorder()):
        assert get_lifecycle().active and get_lifecycle().observes_attempts
    assert not get_lifecycle().active


class Cache:
    """A cache answering every call with a fixed full ranking."""

    def __init__(self, scores: list[tuple[int, float]]) -> None:
        self.scores = scores

    @hookimpl
    def rerank_cached_ranking(self, call):
        return Ranking(list(self.scores))


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_cached_ranking_answers_before_any_io(is_async):
    seen: list[httpx.Request] = []
    recorder = HookRecorder()
    with registered_plugin(Cache([(0, 0.1), (1, 0.9), (2, 0.5)])), registered_plugin(recorder):
        if is_async:
            async with async_client([], seen) as c:
                r = await c.rerank("echo/m", "q", DOCS, top_n=2)
        else:
            with client([], seen) as c:
                r = c.rerank("echo/m", "q", DOCS, top_n=2)
    assert seen == []
    assert [(x.index, x.document.text) for x in r.results] == [(1, "beta"), (2, "gamma")]
    assert r.meta.cached is True and r.meta.attempts == 0
    (call,) = recorder.calls()
    assert call.cached and call.attempts == 0 and call.response is r


@pytest.mark.parametrize("scores", [[(0, 0.1), (1, 0.2)], [(0, 0.1), (1, float("nan")), (2, 0.3)]])
def test_a_cached_ranking_is_checked_like_a_providers(scores):
    recorder = HookRecorder()
    with (
        registered_plugin(Cache(scores)),
        registered_plugin(recorder),
        client([], []) as c,
        pytest.raises(InvalidResponseError),
    ):
        c.rerank("echo/m", "q", DOCS)
    (call,) = recorder.calls()  # the call still ends, with its error
    assert isinstance(call.error, InvalidResponseError) and call.cached


class Broken:
    @hookimpl
    def rerank_call_started(self, call):
        raise RuntimeError("plugin bug")

    @hookimpl
    def rerank_cached_ranking(self, call):
        raise RuntimeError("cache down")


def test_a_raising_plugin_is_reported_once_and_calls_go_on(caplog):
    caplog.set_level(logging.DEBUG, logger="rerankit.plugins")
    recorder = HookRecorder()
    with (
        registered_plugin(Broken(), name="broken"),
        registered_plugin(recorder),
        client([], []) as c,
    ):
        for _ in range(3):
            assert len(c.rerank("echo/m", "q", DOCS).results) == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # once per hook, not once per call
    assert all("'broken'" in r.getMessage() for r in errors)
    assert len(recorder.calls()) == 3


class TraceContext:
    @hookimpl
    def rerank_attempt_started(self, attempt):
        attempt.headers["traceparent"] = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
        attempt.headers["authorization"] = "Bearer stolen"


@pytest.mark.parametrize("is_async", [False, True])
async def test_attempt_hooks_add_headers_but_never_replace_the_providers(is_async):
    seen: list[httpx.Request] = []
    with registered_plugin(TraceContext()):
        if is_async:
            async with async_client([], seen) as c:
                await c.rerank("echo/m", "q", DOCS, api_key=KEY)
        else:
            with client([], seen) as c:
                c.rerank("echo/m", "q", DOCS, api_key=KEY)
    (request,) = seen
    assert request.headers["traceparent"].startswith("00-aaaa")
    assert request.headers.get_list("authorization") == [f"Bearer {KEY}"]


class AttemptsOnly:
    """Attempt hooks that do not take `call`: the clients then build no `CallContext`."""

    def __init__(self) -> None:
        self.started: list[tuple[int, str]] = []
        self.finished: list[int | None] = []

    @hookimpl
    def rerank_attempt_started(self, attempt):
        self.started.append((attempt.number, attempt.url))
        attempt.headers["x-request-id"] = f"req-{attempt.number}"

    @hookimpl
    def rerank_attempt_finished(self, attempt):
        self.finished.append(attempt.status_code)


class AttemptsWithCall:
    def __init__(self) -> None:
        self.counts: list[int] = []

    @hookimpl
    def rerank_attempt_finished(self, call, attempt):
        self.counts.append(call.attempts)


def test_which_hooks_need_a_call_context():
    assert not Lifecycle.of([AttemptsOnly()]).observes_calls
    assert Lifecycle.of([AttemptsOnly()]).observes_attempts
    assert Lifecycle.of([AttemptsWithCall()]).observes_calls
    assert Lifecycle.of([Cache([])]).observes_calls
    joined = Lifecycle.of([AttemptsOnly()])
    assert joined.then(Lifecycle.of([AttemptsWithCall()])).observes_calls


@pytest.mark.parametrize("is_async", [False, True])
async def test_attempt_hooks_alone_see_every_attempt_without_a_call_context(is_async):
    """The proxy's request-id plugin is such a plugin: each retry carries the header."""
    seen: list[httpx.Request] = []
    plugin, counter = AttemptsOnly(), AttemptsWithCall()
    with registered_plugin(plugin):
        if is_async:
            async with async_client([503], seen) as c:
                response = await c.rerank("echo/m", "q", DOCS, api_key=KEY, max_retries=1)
        else:
            with client([503], seen) as c:
                response = c.rerank("echo/m", "q", DOCS, api_key=KEY, max_retries=1)
        with registered_plugin(counter), client([503], []) as c:
            c.rerank("echo/m", "q", DOCS, api_key=KEY, max_retries=1)
    assert [r.headers["x-request-id"] for r in seen] == ["req-1", "req-2"]
    assert plugin.started[:2] == [(1, "https://fake.test/rerank"), (2, "https://fake.test/rerank")]
    assert plugin.finished[:2] == [503, 200]  # (the second block ran it again)
    assert response.meta.attempts == 2
    # With a hook that takes `call`, the call's context counts the attempts again.
    assert counter.counts == [1, 2]


def test_a_clients_own_plugins_run_for_that_client_only():
    seen: list[httpx.Request] = []
    cache = Cache([(0, 0.1), (1, 0.9), (2, 0.5)])
    reg = registry(echo=EchoProvider())
    transport = upstream([], seen)
    with (
        rerankit.Client(transport=transport, registry=reg, plugins=[cache]) as cached,
        rerankit.Client(transport=transport, registry=reg) as plain,
    ):
        assert cached.rerank("echo/m", "q", DOCS).meta.cached is True
        assert plain.rerank("echo/m", "q", DOCS).meta.cached is None
    assert len(seen) == 1  # only the plain client went upstream


class Misspelt:
    @hookimpl
    def rerank_call_finnished(self, call):
        pass


def test_a_clients_plugin_with_an_unknown_hook_is_refused():
    with pytest.raises(PluginLoadError, match="finnished"):
        rerankit.Client(plugins=[Misspelt()])


class WrongType:
    @hookimpl
    def rerank_cached_ranking(self, call):
        return {"results": []}


def test_a_cache_answering_something_else_than_a_ranking_fails_clearly():
    with (
        registered_plugin(WrongType(), name="wrong"),
        client([], []) as c,
        pytest.raises(InvalidResponseError, match=r"'wrong'.*dict, not a rerankit\.Ranking"),
    ):
        c.rerank("echo/m", "q", DOCS)
