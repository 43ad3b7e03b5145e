"""rerankit's own HTTP/1.1 client (`_http1`), against a raw server on 127.0.0.1.

The server sends exactly the bytes each test needs (chunked, close-delimited, 1xx, broken
heads...), and counts the connections it accepts, so pooling is checked from the
server's side. The shared fault matrix, TLS and limits tests run this client too
(tests/integration/test_fault_matrix.py, test_proxies_and_tls.py, test_limits.py).
"""

from __future__ import annotations

import asyncio
import gzip
import re
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

pytest.importorskip("httptools")

import rerankit
from rerankit._http1 import (
    MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    Connection,
    LeanAsyncSender,
    ResponseParser,
    request_bytes,
    target,
)
from rerankit._senders import AsyncSender, SendError
from rerankit.errors import InvalidParameterError
from rerankit.wire import HttpRequest, HttpResponse
from tests.conftest import NIM_KEY

from .fakes import registry

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"

ANSWER = b'{"results": [{"index": 0, "score": 1.0}]}'
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(ANSWER),
    ANSWER,
)


@dataclass
class Reply:
    data: bytes
    close: bool = False  # close the connection after sending `data`
    hold: asyncio.Event | None = None  # wait for this before answering


class RawServer:
    """Answers each request with the next queued `Reply` (OK when none is queued)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.accepts = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                self.bodies.append(await reader.readexactly(int(length.group(1))))
                self.heads.append(head)
                reply = self.replies.popleft() if self.replies else Reply(OK)
                if reply.hold is not None:
                    await reply.hold.wait()
                writer.write(reply.data)
                await writer.drain()
                if reply.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = RawServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/rank"
    async with listener:
        yield server


class Unused:
    """The fallback sender, which these requests must never reach."""

    async def send(self, *args: object) -> HttpResponse:
        raise AssertionError("handed to the fallback sender")

    async def aclose(self) -> None:
        pass


def lean(max_bytes: int = 1 << 20) -> LeanAsyncSender:
    def fallback() -> AsyncSender:
        return Unused()

    return LeanAsyncSender(True, max_bytes, fallback)


async def post(sender: LeanAsyncSender, url: str, **headers: str) -> HttpResponse:
    request = HttpRequest("POST", url, headers, json={"q": "x"})
    return await sender.send(request, headers, 5.0, None)


async def fails(sender: LeanAsyncSender, url: str) -> SendError:
    with pytest.raises(SendError) as info:
        await post(sender, url)
    return info.value


# -- the request -------------------------------------------------------------------------------


async def test_the_request_head_carries_length_host_encoding_and_agent(raw):
    sender = lean()
    answer = await post(sender, raw.url, authorization="Bearer k")
    await sender.aclose()
    assert answer.status_code == 200 and answer.content == ANSWER
    head = raw.heads[0].decode()
    assert head.startswith("POST /rank HTTP/1.1\r\n")
    assert f"host: {raw.url.split('/')[2]}\r\n" in head  # with the port: not the default
    assert "accept-encoding: gzip, deflate\r\n" in head
    assert f"user-agent: rerankit/{rerankit.__version__}\r\n" in head
    assert "authorization: Bearer k\r\n" in head
    assert "content-type: application/json\r\n" in head
    assert raw.bodies[0] == b'{"q":"x"}' or raw.bodies[0] == b'{"q": "x"}'
    assert f"content-length: {len(raw.bodies[0])}\r\n" in head


def test_the_host_header_leaves_out_the_default_port_and_a_provider_agent_wins():
    where = target("https://api.example.com/v1/rerank?x=1")
    assert where is not None and where.origin == ("https", "api.example.com", 443)
    data = request_bytes("POST", where, {"User-Agent": "theirs/1"}, b"{}")
    assert data.startswith(b"POST /v1/rerank?x=1 HTTP/1.1\r\n")
    assert b"host: api.example.com\r\n" in data
    assert b"User-Agent: theirs/1\r\n" in data and b"rerankit/" not in data
    assert data.endswith(b"content-length: 2\r\n\r\n{}")


@pytest.mark.parametrize(
    "url", ["ftp://h/x", "http://user:pw@h/x", "http://h/ä", "http://h/a b", "http:///x"]
)
def test_urls_it_cannot_send_exactly_go_to_the_other_sender(url):
    assert target(url) is None


async def test_userinfo_in_the_url_takes_the_fallback_sender():
    taken: list[str] = []

    class Other(Unused):
        async def send(self, request: HttpRequest, *args: object) -> HttpResponse:
            taken.append(request.url)
            return HttpResponse(204, {}, b"")

    sender = LeanAsyncSender(True, 100, Other)
    answer = await post(sender, "http://user:pw@127.0.0.1:9/x")
    assert answer.status_code == 204 and taken == ["http://user:pw@127.0.0.1:9/x"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("authorization", "Bearer k\r\nx-evil: 1"),
        ("x-api-key", "k\nx"),
        ("x-api-key", "k\0"),
        ("x-evil\r\nhost", "secret-h"),
        ("bad name", "secret-v"),
    ],
)
async def test_header_injection_is_refused_before_connecting(name, value):
    sender = lean()
    with pytest.raises(InvalidParameterError, match="CR, LF or NUL") as info:
        await post(sender, "http://127.0.0.1:9/x", **{name: value})
    assert value not in str(info.value)  # it may be a key
    assert sender.pool.open == 0


# -- the answer --------------------------------------------------------------------------------


async def test_a_chunked_answer(raw):
    chunks = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunks))
    sender = lean()
    assert (await post(sender, raw.url)).content == b"abcde"
    assert (await post(sender, raw.url)).content == ANSWER  # and the connection is reused
    await sender.aclose()
    assert raw.accepts == 1


async def test_a_close_delimited_answer(raw):
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", close=True))
    sender = lean()
    assert (await post(sender, raw.url)).content == b"until the end"
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2 and sender.pool.open == 0


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_an_answer_that_ends_the_connection_is_not_reused(raw, head):
    raw.replies.append(Reply(head))  # the server keeps its side open: the client must close
    sender = lean()
    assert (await post(sender, raw.url)).content == b"ok"
    assert sender.pool.idle() == 0 and sender.pool.open == 0
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


async def test_bytes_after_a_complete_answer_keep_the_answer_but_not_the_connection(raw):
    raw.replies.append(Reply(OK + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"))
    sender = lean()
    assert (await post(sender, raw.url)).content == ANSWER
    assert sender.pool.idle() == 0 and sender.pool.open == 0
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


async def test_100_continue_before_the_answer_is_skipped(raw):
    raw.replies.append(Reply(b"HTTP/1.1 100 Continue\r\n\r\n" + OK))
    sender = lean()
    answer = await post(sender, raw.url)
    await sender.aclose()
    assert answer.status_code == 200 and answer.content == ANSWER


async def test_headers_are_merged_as_httpx_merges_them(raw):
    raw.replies.append(
        Reply(
            b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nX-Note: one\r\nx-note: two\r\n"
            b"X-Latin: caf\xe9\r\ncontent-length: 2\r\n\r\n{}"
        )
    )
    sender = lean()
    answer = await post(sender, raw.url)
    await sender.aclose()
    assert answer.status_code == 429
    assert answer.headers["x-note"] == "one, two"
    assert answer.headers["retry-after"] == "3"
    assert answer.headers["x-latin"] == "café"


async def test_a_gzip_answer_is_decoded_and_one_over_the_cap_refused(raw):
    small = gzip.compress(ANSWER)
    bomb = gzip.compress(bytes(4096))
    for body in (small, bomb):
        raw.replies.append(
            Reply(
                b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s"
                % (len(body), body)
            )
        )
    sender = lean(max_bytes=1024)
    assert (await post(sender, raw.url)).content == ANSWER
    error = await fails(sender, raw.url)
    await sender.aclose()
    assert error.kind == "too_large" and error.limit == 1024


async def test_a_declared_length_over_the_cap_fails_before_the_body_is_read(raw):
    # The body never comes: the declared length alone must end the exchange.
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n"))
    sender = lean(max_bytes=1000)
    error = await fails(sender, raw.url)
    await sender.aclose()
    assert (error.kind, error.limit, error.declared) == ("too_large", 1000, 5000)


async def test_a_head_over_the_limit_is_refused(raw):
    big = b"x-filler: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n"
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\n" + big + b"content-length: 0\r\n\r\n"))
    sender = lean()
    error = await fails(sender, raw.url)
    await sender.aclose()
    assert error.kind == "connect" and "head is larger than" in str(error)


async def test_too_many_headers_are_refused(raw):
    many = b"".join(b"x-h%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\n" + many + b"content-length: 0\r\n\r\n"))
    sender = lean()
    error = await fails(sender, raw.url)
    await sender.aclose()
    assert error.kind == "connect" and f"more than {MAX_HEADERS} headers" in str(error)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"SPDY/9 200 whatever\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\ncontent-le", "before its answer was complete"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", "before its answer was complete"),
        (b"", "before answering"),
    ],
    ids=["garbage-status-line", "eof-mid-head", "eof-mid-body", "eof-before-answer"],
)
async def test_a_broken_answer_is_a_typed_error(raw, data, said):
    raw.replies.append(Reply(data, close=True))
    sender = lean()
    error = await fails(sender, raw.url)
    assert error.kind == "connect" and said in str(error)
    # The connection is gone, and the next call works on a new one.
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


def test_the_parser_counts_head_bytes_across_pieces():
    parser = ResponseParser(100)
    parser.feed(b"HTTP/1.1 200 OK\r\nx-long: ")
    for _ in range(MAX_HEAD_BYTES // 1000 - 1):
        parser.feed(b"a" * 1000)  # one endless header line, in pieces
    with pytest.raises(SendError, match="head is larger"):
        parser.feed(b"a" * 2000)


# -- the pool ----------------------------------------------------------------------------------


async def test_sequential_calls_share_one_connection(raw):
    sender = lean()
    for _ in range(5):
        assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 1


async def test_an_idle_connection_the_server_closed_is_replaced(raw):
    raw.replies.append(Reply(OK, close=True))  # answers, keeps-alive in the head, then closes
    sender = lean()
    await post(sender, raw.url)
    await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


async def test_a_stale_connection_is_retried_once_on_a_new_one(raw):
    sender = lean()
    await post(sender, raw.url)
    # The server closes the kept-alive connection as the next request arrives, before any
    # byte of an answer: the client must try once more on a fresh connection.
    raw.replies.append(Reply(b"", close=True))
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


async def test_an_expired_idle_connection_is_not_reused(raw):
    sender = lean()
    sender.pool.keepalive = 0.0
    await post(sender, raw.url)
    await post(sender, raw.url)
    await sender.aclose()
    assert raw.accepts == 2


async def test_101_concurrent_calls_open_at_most_100_connections(raw):
    gate = asyncio.Event()
    for _ in range(MAX_CONNECTIONS):
        raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    calls = [asyncio.create_task(post(sender, raw.url)) for _ in range(MAX_CONNECTIONS + 1)]
    while raw.accepts < MAX_CONNECTIONS or len(raw.heads) < MAX_CONNECTIONS:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert sender.pool.open == MAX_CONNECTIONS  # the 101st waits for a slot
    gate.set()
    answers = await asyncio.gather(*calls)
    await sender.aclose()
    assert all(a.content == ANSWER for a in answers)
    assert raw.accepts == MAX_CONNECTIONS


async def test_a_cancelled_exchange_drops_its_connection(raw):
    gate = asyncio.Event()
    raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    call = asyncio.create_task(post(sender, raw.url))
    while not raw.heads:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert sender.pool.open == 0 and sender.pool.idle() == 0
    gate.set()
    assert (await post(sender, raw.url)).content == ANSWER
    await sender.aclose()
    assert raw.accepts == 2


async def test_waiting_for_a_slot_is_bounded_by_the_callers_timeout(raw):
    gate = asyncio.Event()
    raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    sender.pool.max_connections = 1
    first = asyncio.create_task(post(sender, raw.url))
    while not raw.heads:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await post(sender, raw.url)
    gate.set()
    assert (await first).content == ANSWER
    assert (await post(sender, raw.url)).content == ANSWER  # the slot was not lost
    await sender.aclose()


# -- which sender the async client uses --------------------------------------------------------


async def test_the_async_client_sends_through_it_by_default(raw, monkeypatch):
    for name in ("RERANKIT_ASYNC_TRANSPORT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    base = raw.url.removesuffix("/rank")
    async with rerankit.AsyncClient(registry=registry(), max_retries=0) as client:
        for _ in range(3):
            await client.rerank("echo/m", "q", ["a"], api_base=base)
        assert isinstance(client._sender_, LeanAsyncSender)
        assert client._http is None  # no httpx/aiohttp client was even built
    assert raw.accepts == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RERANKIT_ASYNC_TRANSPORT", "aiohttp"),
        ("RERANKIT_ASYNC_TRANSPORT", "httpx"),
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("all_proxy", "http://127.0.0.1:9"),
    ],
)
def test_forcing_a_transport_or_a_proxy_keeps_the_library_sender(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    assert not isinstance(rerankit.AsyncClient()._sender(), LeanAsyncSender)


def test_a_proxy_option_or_own_transport_keeps_the_library_sender():
    import httpx

    assert not isinstance(rerankit.AsyncClient(proxy="http://p:1")._sender(), LeanAsyncSender)
    own = rerankit.AsyncClient(transport=httpx.AsyncHTTPTransport())
    assert not isinstance(own._sender(), LeanAsyncSender)


def test_one_sender_across_two_event_loops_reconnects_and_counts_right(nim):
    # rerankit.arerank's and a test's pattern: the old loop's connections are forgotten,
    # and one still in use when the loop changed does not unbalance the count.
    sender = lean()
    ready = HttpRequest("GET", nim.url + "/v1/health/ready")
    assert asyncio.run(sender.send(ready, {}, 5.0, None)).status_code == 200
    assert sender.pool.open == 1
    assert asyncio.run(sender.send(ready, {}, 5.0, None)).status_code == 200
    assert sender.pool.open == 1 and sender.pool.idle() == 1

    async def hold() -> Connection:
        connection, _ = await sender.pool.acquire(target(ready.url).origin)
        return connection

    held = asyncio.run(hold())  # still in use when its loop ends
    assert asyncio.run(sender.send(ready, {}, 5.0, None)).status_code == 200
    assert sender.pool.open == 1
    sender.pool.release(held, True)  # the old loop's: closed, neither kept nor counted
    assert held.closed and sender.pool.open == 1 and sender.pool.idle() == 1


def test_without_httptools_both_clients_work_as_before(nim):
    # httptools missing (core without [fast]): the library senders, and calls still work.
    script = textwrap.dedent(f"""
        import sys; sys.modules["httptools"] = None
        import asyncio, os, rerankit
        from rerankit._senders import HttpxSender, HttpxAsyncSender
        for name in ("RERANKIT_ASYNC_TRANSPORT", "RERANKIT_SYNC_TRANSPORT"):
            os.environ.pop(name, None)
        args = ({MODEL!r}, "q", ["a", "b"])
        kwargs = dict(api_base={nim.url!r}, api_key={NIM_KEY!r})
        with rerankit.Client() as client:
            assert len(client.rerank(*args, **kwargs).results) == 2
            assert isinstance(client._sender_, HttpxSender)
        async def main():
            async with rerankit.AsyncClient() as client:
                assert len((await client.rerank(*args, **kwargs)).results) == 2
                assert isinstance(client._sender_, HttpxAsyncSender)
        asyncio.run(main())
        print("ok")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_tls_trusts_ssl_cert_file_offers_http_1_1_and_refuses_an_unknown_ca(
    monkeypatch, tmp_path
):
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server_context.set_alpn_protocols(["h2", "http/1.1"])
    chosen: list[str | None] = []
    raw = RawServer()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chosen.append(writer.get_extra_info("ssl_object").selected_alpn_protocol())
        await raw.handle(reader, writer)

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}/rank"
    async with listener:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        stranger = lean()  # certifi's CAs: the test CA is unknown
        error = await fails(stranger, url)
        await stranger.aclose()
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
        trusting = lean()
        assert (await post(trusting, url)).content == ANSWER
        await trusting.aclose()
    assert error.kind == "connect" and "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert chosen == ["http/1.1"]  # ALPN: never h2, which this client does not speak
