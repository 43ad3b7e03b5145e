"""What an upstream controls has a limit: answer size, numbers, Retry-After, echoed secrets.

Every test talks to a real HTTP server on 127.0.0.1 through each transport the clients
have: the sync httpx client (its sockets capped at the deadline), the async client's
aiohttp short path, the same client through httpx's API (an `httpx.Timeout` takes it
there), and the async client on httpx's own transport.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from unittest import mock

import httpx
import pytest

import rerankit
from rerankit import AsyncClient, Client, LocalProvider, ProviderRequest, Ranking
from rerankit._body import DEFAULT_MAX_RESPONSE_BYTES, BodyReader, ResponseTooLarge
from rerankit._pipeline import MAX_RETRY_AFTER, parse_retry_after
from rerankit._transport import AiohttpClient
from rerankit.errors import (
    MESSAGE_LIMIT,
    ConfigurationError,
    InvalidParameterError,
    InvalidRequestError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
)
from rerankit.registry import ProviderRegistry
from tests.fakes.rerank_server import FakeRerankServer, Reply

MODEL = "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"
KEY = "nvapi-echoed-secret-0042"
DOCS = ["alpha beta", "gamma"]
JSON = {"content-type": "application/json"}
MIB = 1024 * 1024

# -- the transports --------------------------------------------------------------------------

Call = Callable[..., Any]


def _sync(force: str = "", **client: Any) -> Call:
    """A call on a fresh sync client; `force` sets RERANKIT_SYNC_TRANSPORT for it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        with mock.patch.dict(os.environ, {"RERANKIT_SYNC_TRANSPORT": force}), Client(**client) as c:
            return c.rerank(*args, **kwargs)

    return call


def _async(make: Callable[..., AsyncClient], force: str = "", **client: Any) -> Call:
    """A call on a fresh async client; `force` sets RERANKIT_ASYNC_TRANSPORT for it."""

    def call(*args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            async with make(**client) as c:
                return await c.rerank(*args, **kwargs)

        with mock.patch.dict(os.environ, {"RERANKIT_ASYNC_TRANSPORT": force}):
            return asyncio.run(run())

    return call


TRANSPORTS: dict[str, Callable[..., Call]] = {
    "sync": _sync,
    "sync-httpx": lambda **kw: _sync("httpx", **kw),
    "lean": lambda **kw: _async(AsyncClient, **kw),
    "aiohttp": lambda **kw: _async(AsyncClient, "aiohttp", **kw),
    "aiohttp-via-httpx": lambda timeout=10, **kw: _async(
        AsyncClient, timeout=httpx.Timeout(timeout), **kw
    ),
    "httpx-async": lambda **kw: _async(AsyncClient, transport=httpx.AsyncHTTPTransport(), **kw),
}


@pytest.fixture(params=list(TRANSPORTS))
def via(request: pytest.FixtureRequest) -> Callable[..., Call]:
    return TRANSPORTS[request.param]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeRerankServer]:
    with FakeRerankServer() as server:
        yield server


@pytest.fixture
def server(upstream: FakeRerankServer) -> FakeRerankServer:
    upstream.clear()
    return upstream


def answer(server: FakeRerankServer, status: int, body: Any, **headers: str) -> None:
    server.handler = lambda seen: Reply(status, body, {**JSON, **headers})


def test_the_default_async_client_takes_the_aiohttp_short_path():
    assert isinstance(AsyncClient()._http_client(), AiohttpClient)


# -- answer size -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """64 MiB of zeros, gzip-compressed to about 64 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MIB)
    return b"".join([*(compressor.compress(zeros) for _ in range(64)), compressor.flush()])


def test_a_gzip_bomb_fails_typed_without_inflating(via, server, bomb):
    answer(server, 200, bomb, **{"content-encoding": "gzip"})
    call = via(max_response_bytes=MIB, max_retries=0)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidResponseError, match="max_response_bytes=1048576"):
            call(MODEL, "q", DOCS, api_base=server.url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Decoded a bounded piece at a time: never near the 64 MiB the body expands to.
    assert peak < 12 * MIB, peak


def test_compressed_answers_within_the_limit_still_decode(via, server):
    body = b'{"rankings": [{"index": 1, "logit": 2.5}, {"index": 0, "logit": -1.0}]}'
    for encoding, payload in (
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("deflate", zlib.compress(body, wbits=-zlib.MAX_WBITS)),  # raw deflate, seen in the wild
    ):
        answer(server, 200, payload, **{"content-encoding": encoding})
        response = via()(MODEL, "q", DOCS, api_base=server.url)
        assert [r.index for r in response.results] == [1, 0], encoding


def test_a_plain_answer_over_the_limit_fails(via, server):
    answer(server, 200, b'{"rankings": [' + b" " * 4096 + b"]}")
    with pytest.raises(InvalidResponseError, match="Content-Length says 4112"):
        via(max_response_bytes=4096, max_retries=0)(MODEL, "q", DOCS, api_base=server.url)


def test_an_encoding_not_asked_for_is_refused_by_name(via, server):
    answer(server, 200, b"\x1b\x00\x00", **{"content-encoding": "br"})
    with pytest.raises(InvalidResponseError, match="br-encoded"):
        via(max_retries=0)(MODEL, "q", DOCS, api_base=server.url)
    assert server.requests[-1].headers["accept-encoding"] == "gzip, deflate"


class StallingServer:
    """Answers every connection with headers declaring a 10 GiB body, then sends nothing."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._open.append(conn)
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: 10737418240\r\n\r\n{"
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._open:
            conn.close()
        self._listener.close()


def test_a_declared_length_over_the_limit_fails_before_reading(via):
    stalling = StallingServer()
    try:
        # Reading would wait for the 10 GiB until the 5 s deadline: the header alone decides.
        with pytest.raises(InvalidResponseError, match="Content-Length says 10737418240"):
            via(timeout=5, max_retries=0)(MODEL, "q", DOCS, api_base=stalling.url)
    finally:
        stalling.close()


def test_the_limit_is_64_mib_by_default_and_checked():
    assert Client().max_response_bytes == AsyncClient().max_response_bytes == 64 * MIB
    assert DEFAULT_MAX_RESPONSE_BYTES == 64 * MIB
    for bad in (0, -1, 1.5, True, "64"):
        with pytest.raises(InvalidParameterError, match="max_response_bytes"):
            Client(max_response_bytes=bad)


def test_body_reader_counts_decoded_bytes_across_pieces_and_layers():
    inner = gzip.compress(b"x" * 1000)
    twice = gzip.compress(inner)
    reader = BodyReader.open(1000, None, "gzip, gzip")
    assert reader is not None
    for i in range(0, len(twice), 7):
        reader.feed(twice[i : i + 7])
    assert reader.finish() == b"x" * 1000
    reader = BodyReader.open(999, None, "gzip")
    assert reader is not None
    with pytest.raises(ResponseTooLarge):
        reader.feed(inner)
    bad = BodyReader.open(100, None, "gzip")
    assert bad is not None
    with pytest.raises(httpx.DecodingError, match="corrupt"):
        bad.feed(b"not gzip at all")
    # A plain body of a declared length within the limit is read by the transport itself.
    assert BodyReader.open(100, "100", None) is None
    assert BodyReader.open(100, "100", "identity") is None
    with pytest.raises(ResponseTooLarge):
        BodyReader.open(100, "101", None)
    # Without a declared length (chunked), a plain body is counted as it arrives.
    plain = BodyReader.open(100, None, None)
    assert plain is not None
    plain.feed(b"x" * 100)
    with pytest.raises(ResponseTooLarge):
        plain.feed(b"x")


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("score", ["1e999", "Infinity", "-Infinity", "NaN"])
def test_a_non_finite_score_is_an_invalid_response(via, server, score):
    body = f'{{"rankings": [{{"index": 0, "logit": {score}}}, {{"index": 1, "logit": 1}}]}}'
    answer(server, 200, body.encode())
    with pytest.raises(InvalidResponseError, match=r"not finite|not a number"):
        via(max_retries=0)(MODEL, "q", DOCS, api_base=server.url)


def test_non_finite_usage_is_dropped_and_the_answer_kept(via, server):
    body = (
        b'{"rankings": [{"index": 0, "logit": 1}, {"index": 1, "logit": 0}], "usage": '
        b'{"total_tokens": Infinity, "prompt_tokens": 7, "odd": 1e999, "detail": {"n": NaN}}}'
    )
    answer(server, 200, body)
    response = via()(MODEL, "q", DOCS, api_base=server.url)
    assert response.meta is not None
    assert response.meta.usage == {"prompt_tokens": 7, "detail": {}}
    assert "Infinity" not in response.model_dump_json()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("inf", MAX_RETRY_AFTER),
        ("1e999", MAX_RETRY_AFTER),
        ("1e300", MAX_RETRY_AFTER),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
        ("-5", 0.0),
        ("Mon, 01 Jan 2001 00:00:00 GMT", 0.0),
        ("3", 3.0),
        ("nan", None),
        ("soon", None),
        ("Fri, 99 Foo 99999999999 GMT", None),
        ("9" * 100_000, MAX_RETRY_AFTER),
        ("", None),
    ],
)
def test_retry_after_is_parsed_defensively(header, seconds):
    assert parse_retry_after(header) == seconds


# An httpx.Timeout sets no overall deadline, so that transport is left out here.
@pytest.mark.parametrize("transport", ["sync", "sync-httpx", "lean", "aiohttp", "httpx-async"])
def test_an_infinite_retry_after_gives_a_capped_wait_not_a_crash(transport, server):
    answer(server, 429, {"message": "slow down"}, **{"retry-after": "inf"})
    with pytest.raises(RateLimitError) as info:
        TRANSPORTS[transport](timeout=5, max_retries=1)(MODEL, "q", DOCS, api_base=server.url)
    assert info.value.retry_after == MAX_RETRY_AFTER
    assert len(server.requests) == 1  # 60 s does not fit the 5 s deadline: no sleep into it


# -- text from upstreams and callers -----------------------------------------------------------


def test_upstream_text_in_an_error_is_trimmed(via, server):
    huge = "x" * 5_000_000
    answer(server, 200, {"rankings": [{"index": huge, "logit": 1}, {"index": 1, "logit": 1}]})
    with pytest.raises(InvalidResponseError) as info:
        via(max_retries=0)(MODEL, "q", DOCS, api_base=server.url)
    assert len(str(info.value)) <= MESSAGE_LIMIT + 100
    assert "more chars" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {"rankings": f"invalid key {KEY}"},  # the provider's own parse error
        {"rankings": [{"index": KEY, "logit": 1}, {"index": 1, "logit": 1}]},  # the core's check
        {"rankings": [{"index": 0, "logit": KEY}, {"index": 1, "logit": 1}]},
    ],
)
def test_a_key_echoed_in_a_malformed_2xx_answer_is_masked(via, server, body):
    answer(server, 200, body)
    with pytest.raises(InvalidResponseError) as info:
        via(max_retries=0)(MODEL, "q", DOCS, api_base=server.url, api_key=KEY)
    error = info.value
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    for shown in (str(error), repr(error), error.body or ""):
        assert KEY not in shown


def test_url_credentials_never_show_in_errors(via):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ProviderConnectionError) as info:
        via(max_retries=0)(MODEL, "q", DOCS, api_base=f"http://admin:pw-s3cret@127.0.0.1:{port}")
    assert "pw-s3cret" not in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
    with pytest.raises(ConfigurationError) as bad_base:
        rerankit.rerank(MODEL, "q", DOCS, api_base="ftp://admin:pw-s3cret@nim.internal")
    assert "pw-s3cret" not in str(bad_base.value)
    assert "nim.internal" in str(bad_base.value)


@pytest.mark.parametrize(
    ("query", "documents", "where"),
    [
        ("q\ud800", DOCS, "query"),
        ("q", ["fine", "bad \udc00 text"], r"documents\[1\]"),
        ("q", ["fine", {"text": "\ud83d"}], r"documents\[1\]"),
    ],
)
def test_lone_surrogates_are_refused_before_any_request(via, server, query, documents, where):
    answer(server, 200, {"rankings": []})
    with pytest.raises(InvalidRequestError, match=f"{where} holds a lone surrogate"):
        via()(MODEL, query, documents, api_base=server.url)
    assert server.requests == []


def test_bm25_parameters_must_be_finite():
    for value in (float("nan"), float("inf"), -1.0, 10**400):
        with pytest.raises(InvalidParameterError, match="k1"):
            rerankit.rerank("local/bm25", "q", DOCS, k1=value)


# -- local providers off the event loop ----------------------------------------------------------


class GateProvider(LocalProvider):
    """Scores at once, except for the query "slow": that waits for `release`."""

    name: ClassVar[str] = "gate"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def rerank(self, request: ProviderRequest) -> Ranking:
        if request.query == "slow":
            self.started.set()
            self.release.wait(5)
        return Ranking([(i, 1.0) for i in range(len(request.documents))])


@pytest.fixture
def gate() -> Iterator[GateProvider]:
    provider = GateProvider()
    yield provider
    provider.release.set()


def _registry(gate: GateProvider) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register("gate", gate)
    return registry


def test_a_long_local_call_does_not_stall_other_calls(gate):
    async def main() -> list[str]:
        finished: list[str] = []
        async with AsyncClient(registry=_registry(gate)) as client:

            async def call(query: str) -> None:
                await client.rerank("gate/m", query, ["a", "b"])
                finished.append(query)

            slow = asyncio.create_task(call("slow"))
            assert await asyncio.to_thread(gate.started.wait, 5)
            await call("fast")  # answered while "slow" is still computing
            gate.release.set()
            await slow
        return finished

    assert asyncio.run(main()) == ["fast", "slow"]


def test_the_deadline_bounds_the_wait_for_a_local_call(gate):
    async def main() -> None:
        async with AsyncClient(registry=_registry(gate), timeout=0.2) as client:
            with pytest.raises(ProviderTimeoutError, match=r"timeout=0\.2s"):
                await client.rerank("gate/m", "slow", ["a"])
            assert gate.started.is_set() and not gate.release.is_set()

    asyncio.run(main())


def test_urls_are_shown_without_credentials_or_query():
    from rerankit.wire import HttpRequest, display_url, url_credentials

    url = "https://admin:pw-s3cret@nim.internal:8443/v1/ranking?key=k-s3cret#frag"
    assert display_url(url) == "https://nim.internal:8443/v1/ranking"
    assert url_credentials(url) == "admin:pw-s3cret"
    assert url_credentials("https://nim.internal/v1") is None
    assert display_url("http://u:pw-s3cret@[::1/x?q=1") == "http://[::1/x"  # unparseable
    shown = repr(HttpRequest("POST", url, {"Authorization": "Bearer k"}))
    assert "s3cret" not in shown and "nim.internal:8443" in shown
