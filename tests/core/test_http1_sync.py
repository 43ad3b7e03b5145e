"""rerankit's own HTTP/1.1 client over blocking sockets (`_http1_sync`), the sync default.

A raw threaded server on 127.0.0.1 sends exactly the bytes each test needs and counts
the connections it accepts. The parser is the async client's (tests/core/test_http1.py
covers it in depth); here: the socket side, the deadline, the pool and its checks. The
shared fault matrix, TLS and limits tests run this sender too.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

pytest.importorskip("httptools")

import rerankit
from rerankit._http1 import MAX_CONNECTIONS, MAX_HEADERS
from rerankit._http1_sync import LeanSender, _Connection
from rerankit._senders import HttpxSender, SendError
from rerankit.errors import InvalidParameterError
from rerankit.wire import HttpRequest, HttpResponse

from .fakes import registry

ANSWER = b'{"results": [{"index": 0, "score": 1.0}]}'
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
    len(ANSWER),
    ANSWER,
)


@dataclass
class Reply:
    data: bytes
    close: bool = False  # close the connection after sending `data`
    hold: threading.Event | None = None  # wait for this before answering
    drip: float = 0.0  # seconds between single bytes


class RawServer:
    """Answers each request with the next queued `Reply` (OK when none is queued)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.accepts = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/rank"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.accepts += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    buffer += piece
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                with self._lock:
                    self.requests += 1
                    reply = self.replies.popleft() if self.replies else Reply(OK)
                if reply.hold is not None:
                    reply.hold.wait(10)
                try:
                    if reply.drip:
                        for byte in reply.data:
                            conn.sendall(bytes([byte]))
                            time.sleep(reply.drip)
                    else:
                        conn.sendall(reply.data)
                except OSError:
                    return
                if reply.close:
                    return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.stop()


def lean(max_bytes: int = 1 << 20) -> LeanSender:
    def fallback() -> HttpxSender:
        raise AssertionError("handed to the fallback sender")

    return LeanSender(True, max_bytes, fallback)


def nothing() -> None:
    pass


def post(sender: LeanSender, url: str, timeout: float = 5.0, check=nothing, **headers: str):
    request = HttpRequest("POST", url, headers, json={"q": "x"})
    at = time.monotonic() + timeout
    return sender.send(request, headers, timeout, None, at, check, False)


def fails(sender: LeanSender, url: str, **kwargs) -> SendError:
    with pytest.raises(SendError) as info:
        post(sender, url, **kwargs)
    return info.value


def test_a_plain_answer_and_its_request(raw):
    sender = lean()
    answer = post(sender, raw.url, authorization="Bearer k")
    sender.close()
    assert isinstance(answer, HttpResponse)
    assert (answer.status_code, answer.content) == (200, ANSWER)
    assert answer.headers["content-type"] == "application/json"


def test_header_injection_is_refused_before_connecting(raw):
    sender = lean()
    with pytest.raises(InvalidParameterError, match="CR, LF or NUL"):
        post(sender, raw.url, authorization="Bearer k\r\nx-evil: 1")
    assert raw.accepts == 0


@pytest.mark.parametrize(
    ("data", "content", "accepts"),
    [
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", b"ab", 1),
        (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", b"ok", 2),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", b"ok", 2),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, ANSWER, 1),
    ],
    ids=["chunked", "connection-close", "http-1.0", "100-continue"],
)
def test_answers_and_whether_the_connection_is_kept(raw, data, content, accepts):
    raw.replies.append(Reply(data))
    sender = lean()
    assert post(sender, raw.url).content == content
    assert post(sender, raw.url).content == ANSWER
    sender.close()
    assert raw.accepts == accepts


def test_a_close_delimited_answer(raw):
    raw.replies.append(Reply(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", close=True))
    sender = lean()
    assert post(sender, raw.url).content == b"until the end"
    assert sender.pool.open == 0


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"NOPE\r\n\r\n", "not valid HTTP/1.1"),
        (b"HTTP/1.1 200 OK\r\ncontent-le", "before its answer was complete"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", "before its answer was complete"),
        (
            b"HTTP/1.1 200 OK\r\n"
            + b"".join(b"x-h%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
            + b"\r\n",
            "headers",
        ),
    ],
    ids=["garbage", "eof-mid-head", "eof-mid-body", "too-many-headers"],
)
def test_a_broken_answer_is_a_typed_error_and_the_next_call_works(raw, data, said):
    raw.replies.append(Reply(data, close=True))
    sender = lean()
    error = fails(sender, raw.url)
    assert error.kind == "connect" and said in str(error)
    assert post(sender, raw.url).content == ANSWER
    sender.close()


def test_a_gzip_answer_over_the_cap_is_refused(raw):
    import gzip

    bomb = gzip.compress(bytes(10_000))
    raw.replies.append(
        Reply(
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s"
            % (len(bomb), bomb)
        )
    )
    sender = lean(max_bytes=1000)
    error = fails(sender, raw.url)
    assert error.kind == "too_large" and error.limit == 1000


# -- the deadline --------------------------------------------------------------------------


def test_a_hang_ends_at_the_deadline_as_a_timeout(raw):
    gate = threading.Event()
    raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    error = fails(sender, raw.url, timeout=0.2)
    gate.set()
    assert error.kind == "timeout"
    assert sender.pool.open == 0  # the half-used connection is not kept


def test_the_check_runs_between_the_pieces_of_a_drip(raw):
    raw.replies.append(Reply(OK, drip=0.002))
    checks: list[None] = []

    class Stop(Exception):
        pass

    def check() -> None:
        checks.append(None)
        if len(checks) == 5:
            raise Stop

    sender = lean()
    with pytest.raises(Stop):
        post(sender, raw.url, check=check)
    assert sender.pool.open == 0


def test_an_interruptible_chunk_sees_its_cancellation_while_the_upstream_hangs(raw):
    gate = threading.Event()
    raw.replies.append(Reply(OK, hold=gate))
    cancelled = threading.Event()

    class Cancelled(Exception):
        pass

    def check() -> None:
        if cancelled.is_set():
            raise Cancelled

    sender = lean()
    request = HttpRequest("POST", raw.url, {}, json={})
    threading.Timer(0.2, cancelled.set).start()
    with pytest.raises(Cancelled):
        sender.send(request, {}, 30.0, None, time.monotonic() + 30, check, True)
    gate.set()
    assert sender.pool.open == 0


# -- the pool ------------------------------------------------------------------------------


def test_sequential_calls_share_one_connection(raw):
    sender = lean()
    for _ in range(5):
        post(sender, raw.url)
    sender.close()
    assert raw.accepts == 1


def test_a_connection_the_server_closed_is_seen_before_reuse():
    ours, theirs = socket.socketpair()
    connection = _Connection(("http", "h", 80), ours, 100)  # type: ignore[arg-type]
    connection.idle_since = time.monotonic()
    assert connection.usable(time.monotonic(), 5.0)
    theirs.close()
    assert not connection.usable(time.monotonic(), 5.0)
    ours.close()


def test_an_idle_connection_the_server_closed_is_replaced(raw):
    raw.replies.append(Reply(OK, close=True))  # keep-alive in its head, then closed
    sender = lean()
    post(sender, raw.url)
    time.sleep(0.05)
    assert post(sender, raw.url).content == ANSWER
    sender.close()
    assert raw.accepts == 2


def test_a_stale_connection_is_retried_once_on_a_new_one(raw):
    sender = lean()
    post(sender, raw.url)
    sender.pool.keepalive = 1e9
    # Closed as the next request arrives, before any byte of an answer.
    raw.replies.append(Reply(b"", close=True))
    assert post(sender, raw.url).content == ANSWER
    sender.close()
    assert raw.accepts == 2


def test_the_retry_after_a_stale_connection_opens_a_new_one(raw):
    # Two idle connections; the newest turns out stale: the retry must not take the
    # other idle one (it may be just as stale) but open a new connection.
    gate = threading.Event()
    raw.replies.extend([Reply(OK, hold=gate), Reply(OK, hold=gate)])
    sender = lean()
    sender.pool.keepalive = 1e9
    pair = [threading.Thread(target=post, args=(sender, raw.url)) for _ in range(2)]
    for thread in pair:
        thread.start()
    while raw.requests < 2:
        time.sleep(0.01)
    gate.set()
    for thread in pair:
        thread.join()
    assert sender.pool.idle() == 2
    raw.replies.append(Reply(b"", close=True))
    assert post(sender, raw.url).content == ANSWER
    assert raw.accepts == 3 and sender.pool.idle() == 2
    sender.close()


def test_101_concurrent_calls_open_at_most_100_connections(raw):
    gate = threading.Event()
    for _ in range(MAX_CONNECTIONS):
        raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    answers: list[bytes] = []

    def one() -> None:
        answers.append(post(sender, raw.url, timeout=20).content)

    threads = [threading.Thread(target=one) for _ in range(MAX_CONNECTIONS + 1)]
    for thread in threads:
        thread.start()
    while raw.requests < MAX_CONNECTIONS:
        time.sleep(0.01)
    assert sender.pool.open == MAX_CONNECTIONS  # the 101st waits for a slot
    gate.set()
    for thread in threads:
        thread.join()
    sender.close()
    assert answers == [ANSWER] * (MAX_CONNECTIONS + 1)
    assert raw.accepts == MAX_CONNECTIONS


def test_waiting_for_a_slot_ends_at_the_deadline(raw):
    gate = threading.Event()
    raw.replies.append(Reply(OK, hold=gate))
    sender = lean()
    sender.pool.max_connections = 1
    first = threading.Thread(target=post, args=(sender, raw.url))
    first.start()
    while raw.requests < 1:
        time.sleep(0.01)
    assert fails(sender, raw.url, timeout=0.2).kind == "timeout"
    gate.set()
    first.join()
    assert post(sender, raw.url).content == ANSWER  # the slot was not lost


# -- which sender the sync client uses -----------------------------------------------------


def test_the_sync_client_sends_through_it_by_default(raw, monkeypatch):
    for name in ("RERANKIT_SYNC_TRANSPORT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with rerankit.Client(registry=registry(), max_retries=0) as client:
        for _ in range(3):
            client.rerank("echo/m", "q", ["a"], api_base=raw.url.removesuffix("/rank"))
        assert isinstance(client._sender_, LeanSender)
        assert client._http is None
    assert raw.accepts == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RERANKIT_SYNC_TRANSPORT", "httpx"), ("HTTP_PROXY", "http://127.0.0.1:9")],
)
def test_forcing_httpx_or_a_proxy_keeps_httpx(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with rerankit.Client() as client:
        assert isinstance(client._sender(), HttpxSender)
