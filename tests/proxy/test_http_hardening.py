"""Hostile HTTP clients against a real `rerankit serve`: oversized and stalled heads,
stalled bodies, too many connections, SIGTERM with stalled clients; and the settings.

Raw sockets, because an HTTP client library would not send these requests. The proxies
run with short timeouts (0.5 s); every wait below has a generous bound and no test
asserts how long anything took.
"""

from __future__ import annotations

import inspect
import json
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rerankit import cli
from rerankit.errors import ConfigurationError
from rerankit_proxy import ProxyConfigError, parse_config
from rerankit_proxy.server import serve
from rerankit_proxy.server_settings import ServerSettings
from tests.proxy.conftest import MASTER, ProxyProcess

BOUND = 10.0  # seconds: "it happened", never "it was fast"
CAP = 4
CONFIG: dict[str, Any] = {
    "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}],
    "general_settings": {"master_key": MASTER},
    "server_settings": {"header_timeout": 0.5, "body_timeout": 0.5},
}
ENV = {"RERANKIT_LOAD_PLUGINS": "local,proxy"}
RERANK = json.dumps({"model": "bm25", "query": "memory", "documents": ["cats", "memory"]}).encode()


@pytest.fixture(scope="module")
def proxies(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ProxyProcess, ProxyProcess]]:
    """Two proxies started side by side: one for the limits, one to be stopped by SIGTERM
    while its clients stall (a long body timeout, a short graceful shutdown)."""
    tmp = tmp_path_factory.mktemp("hardening")
    limits = ProxyProcess(tmp, CONFIG, env=ENV, args=("--max-connections", str(CAP)))
    stopping = ProxyProcess(
        tmp,
        {**CONFIG, "server_settings": {"body_timeout": 60, "header_timeout": 60}},
        env=ENV,
        args=("--graceful-shutdown-timeout", "0.5"),
    )
    try:
        yield limits.wait_ready(), stopping.wait_ready()
    finally:
        limits.stop()
        stopping.stop()


@pytest.fixture(scope="module")
def proxy(proxies: tuple[ProxyProcess, ProxyProcess]) -> ProxyProcess:
    return proxies[0]


class Raw:
    """A client socket that reads answers one at a time (pipelined ones stay buffered)."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=BOUND)
        self.sock.settimeout(BOUND)
        self.buffer = b""

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.send(data)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        """One HTTP/1.1 answer: status, headers (lower-case names), body."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(lines[0].split()[1]), headers, body

    def closed_by_peer(self) -> bool:
        """Whether the server closed the connection (EOF or reset) within BOUND seconds."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole answer: {self.buffer[:200]!r}")
        self.buffer += chunk


def get(path: str, extra: bytes = b"") -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: proxy\r\n".encode() + extra + b"\r\n"


def post(body: bytes, length: int | None = None) -> bytes:
    return (
        b"POST /v2/rerank HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {MASTER}\r\n".encode()
        + f"content-length: {len(body) if length is None else length}\r\n\r\n".encode()
        + body
    )


def still_serves(proxy: ProxyProcess) -> None:
    r = httpx.post(
        f"{proxy.url}/v2/rerank", content=RERANK, headers={"Authorization": f"Bearer {MASTER}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["index"] == 1


# -- the request head -------------------------------------------------------------------


def test_head_over_64_kib_is_answered_431_and_the_proxy_serves_others(proxy):
    with Raw(proxy) as sock:
        sock.send(get("/v1/models", b"x-big: " + b"a" * (64 * 1024) + b"\r\n"))
        status, headers, body = sock.answer()
        assert status == 431
        assert json.loads(body)["error"]["code"] == "headers_too_large"
        assert headers["connection"] == "close"
        assert sock.closed_by_peer()
    assert "refused a request head over 65536 bytes with 431" in proxy.log()
    still_serves(proxy)


def test_head_under_the_default_limit_is_served(proxy):
    big = b"x-big: " + b"a" * (60 * 1024) + b"\r\n"
    with Raw(proxy) as sock:
        sock.send(get("/v1/models", big + f"authorization: Bearer {MASTER}\r\n".encode()))
        status, _, body = sock.answer()
    assert status == 200, body
    assert json.loads(body)["data"][0]["id"] == "bm25"


def test_more_than_100_header_fields_are_answered_431(proxy):
    fields = b"".join(b"x-h-%d: v\r\n" % i for i in range(99))  # with host: 100
    with Raw(proxy) as sock:
        sock.send(get("/health/liveliness", fields))
        assert sock.answer()[0] == 200
        sock.send(get("/health/liveliness", fields + b"x-one-more: v\r\n"))
        status, _, body = sock.answer()
        assert status == 431
        assert json.loads(body)["error"]["code"] == "too_many_headers"
        assert sock.closed_by_peer()
    still_serves(proxy)


def test_huge_head_is_cut_off_unread(proxy):
    # Before the limit, uvicorn parsed all of it (a 64 MiB header: about 5 s of CPU,
    # quadratic in the size) and answered 401; now the connection ends long before.
    sent = 0
    chunk = b"a" * (1024 * 1024)
    with Raw(proxy) as sock:
        sock.send(get("/v1/models")[:-2] + b"x-big: ")
        try:
            while sent < 64 * len(chunk):
                sock.send(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy stopped reading and closed
    assert sent < 64 * len(chunk)
    still_serves(proxy)


def test_head_arriving_in_pieces_and_pipelined_requests_are_served(proxy):
    request = get("/health/liveliness")
    with Raw(proxy) as sock:
        # split inside the blank line that ends the head, and byte by byte
        for piece in (request[:5], request[5:-3], request[-3:-1], request[-1:]):
            sock.send(piece)
            time.sleep(0.02)
        assert sock.answer()[0] == 200
        sock.send(get("/health/liveliness") + get("/health/readiness"))
        assert sock.answer()[2] == b'{"status":"alive"}'
        assert json.loads(sock.answer()[2])["status"] == "ready"
        # a second head that starts in the read ending the first, its blank line split
        sock.send(get("/health/liveliness") + get("/health/readiness")[:-1])
        time.sleep(0.05)
        sock.send(b"\n")
        assert sock.answer()[2] == b'{"status":"alive"}'
        assert json.loads(sock.answer()[2])["status"] == "ready"


def test_stalled_head_is_answered_408(proxy):
    with Raw(proxy) as sock:
        sock.send(b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\nx-slow: ")
        status, _, body = sock.answer()
        assert status == 408
        assert json.loads(body)["error"]["code"] == "header_timeout"
        assert sock.closed_by_peer()
    still_serves(proxy)


def test_silent_connection_is_closed(proxy):
    with Raw(proxy) as sock:
        assert sock.closed_by_peer()


# -- the body ---------------------------------------------------------------------------


def test_stalled_body_is_answered_408_and_closed(proxy):
    with Raw(proxy) as sock:
        sock.send(post(RERANK[:10], length=len(RERANK)))
        status, headers, body = sock.answer()
        assert status == 408
        assert json.loads(body)["error"]["code"] == "body_timeout"
        assert headers["connection"] == "close"
        assert sock.closed_by_peer()
    assert "status=408" in proxy.log()
    still_serves(proxy)


def test_bodies_whole_with_their_head_late_or_pipelined_are_all_read(proxy):
    # A body that came whole with its head is read without the body timer (the HTTP
    # layer marks it); one whose end comes later is timed; pipelined ones are each marked
    # in their own scope.
    request = post(RERANK)
    with Raw(proxy) as sock:
        sock.send(request[:-5])
        time.sleep(0.05)
        sock.send(request[-5:])
        assert sock.answer()[0] == 200
        sock.send(request + request)
        for _ in range(2):
            status, _, body = sock.answer()
            assert status == 200 and json.loads(body)["results"][0]["index"] == 1


def test_answer_without_reading_the_body_closes_the_connection(proxy):
    unauthorized = post(RERANK).replace(MASTER.encode(), b"sk-wrong-key-000")
    with Raw(proxy) as sock:
        sock.send(unauthorized)
        status, headers, _ = sock.answer()
        assert status == 401
        assert headers["connection"] == "close"
        assert sock.closed_by_peer()
    with Raw(proxy) as sock:  # a body that was read keeps the connection open
        sock.send(post(RERANK) + post(RERANK))
        assert sock.answer()[0] == 200
        assert sock.answer()[0] == 200


# -- the connection cap -----------------------------------------------------------------


def hold_connections(proxy: ProxyProcess, count: int) -> list[Raw]:
    """`count` kept-alive connections, each answered once (so the proxy has accepted it);
    tried again while connections of earlier tests are still closing."""
    deadline = time.monotonic() + BOUND
    while True:
        held = [Raw(proxy) for _ in range(count)]
        try:
            for sock in held:
                sock.send(get("/health/liveliness"))
                assert sock.answer()[0] == 200
            return held
        except (AssertionError, OSError):
            for sock in held:
                sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_connections_over_the_cap_are_refused_503_and_logged(proxy):
    held = hold_connections(proxy, CAP)
    try:
        with Raw(proxy) as extra:
            status, _, body = extra.answer()
            assert status == 503
            assert json.loads(body)["error"]["code"] == "too_many_connections"
            assert extra.closed_by_peer()
        assert "connection limit reached: 4 connections open" in proxy.log()
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + BOUND  # the proxy notices the closes, then serves again
    while True:
        try:
            still_serves(proxy)
            break
        except (AssertionError, httpx.TransportError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_metrics_count_what_the_http_layer_refused(proxy):
    with Raw(proxy) as sock:
        sock.send(get("/metrics", b"x-big: " + b"a" * (64 * 1024) + b"\r\n"))
        assert sock.answer()[0] == 431
    scrape = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {MASTER}"})
    line = next(
        line
        for line in scrape.text.splitlines()
        if line.startswith('rerankit_proxy_http_refused_total{reason="headers_too_large"}')
    )
    assert float(line.split()[-1]) >= 1


# -- SIGTERM ----------------------------------------------------------------------------


def test_sigterm_with_stalled_clients_exits_within_the_graceful_timeout(proxies):
    _, proxy = proxies
    stalled_head, stalled_body, idle = Raw(proxy), Raw(proxy), Raw(proxy)
    try:
        stalled_head.send(b"GET /v1/models HTTP/1.1\r\nhost: proxy\r\n")
        stalled_body.send(post(RERANK[:10], length=len(RERANK)))
        idle.send(get("/health/liveliness"))
        assert idle.answer()[0] == 200
        time.sleep(0.2)  # the stalled body's request is in the app, waiting for the rest
        proxy.process.send_signal(signal.SIGTERM)
        # uvicorn raises the signal again once shut down: the exit status says SIGTERM
        assert proxy.process.wait(BOUND) in (0, -signal.SIGTERM)
        status, _, body = stalled_body.answer()  # cut at the graceful timeout
        assert status == 503
        assert json.loads(body)["error"]["type"] == "shutting_down"
        assert stalled_head.closed_by_peer()
        assert idle.closed_by_peer()
    finally:
        for sock in (stalled_head, stalled_body, idle):
            sock.close()
    log = proxy.log()
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "503: the proxy is shutting down" in log


# -- settings, flags, the uvicorn seam --------------------------------------------------


def test_server_settings_from_the_file_and_their_defaults():
    default = parse_config(CONFIG | {"server_settings": None}).server
    assert default == ServerSettings()
    assert (default.max_header_bytes, default.max_headers) == (65536, 100)
    assert default.max_connections == 1024
    config = parse_config(CONFIG | {"server_settings": {"max_connections": "10"}})
    assert config.server.max_connections == 10


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"max_header_bytes": 10},
            "server_settings.max_header_bytes: must be a whole number >= 1024",
        ),
        ({"header_timeout": 0}, "server_settings.header_timeout: must be a finite number >= 0.01"),
        ({"body_timeout": float("nan")}, "server_settings.body_timeout: must be a finite number"),
        ({"max_connections": float("inf")}, "server_settings.max_connections: must be a whole"),
        ({"keep_alive": 5}, "server_settings.keep_alive: is not a known setting"),
    ],
)
def test_bad_server_settings_name_the_field(settings, message):
    with pytest.raises(ProxyConfigError, match=message.replace(".", r"\.")):
        parse_config(CONFIG | {"server_settings": settings})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "99999"], "--port must be a whole number from 1 to 65535, got 99999"),
        (["--port", "0"], "--port must be a whole number from 1 to 65535, got 0"),
        (["--workers", "0"], "--workers must be a whole number >= 1, got 0"),
        (["--header-timeout", "0"], "--header-timeout: must be a number >= 0.01"),
        (["--max-connections", "0"], "--max-connections: must be a whole number >= 1"),
    ],
)
def test_bad_serve_flags_exit_2_before_listening(argv, message, capsys, monkeypatch):
    monkeypatch.setenv("RERANKIT_LOAD_PLUGINS", "local")
    assert cli.main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err


def test_serve_refuses_a_bad_port_from_python():
    with pytest.raises(ConfigurationError, match="65535"):
        serve(port=65536)


def test_the_uvicorn_seam_is_where_http_guard_expects_it():
    """Fails when uvicorn moves what `http_guard` overrides or reads (see its docstring)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

    from rerankit_proxy.http_guard import GuardedHttpToolsProtocol

    params = list(inspect.signature(HttpToolsProtocol.__init__).parameters)
    assert params == ["self", "config", "server_state", "app_state", "_loop"]
    for name in (
        "connection_made",
        "connection_lost",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "on_message_complete",
        "_unset_keepalive_if_required",
    ):
        assert callable(getattr(HttpToolsProtocol, name)), name
        assert name in HttpToolsProtocol.__dict__, f"{name} moved out of HttpToolsProtocol"
    init = inspect.getsource(HttpToolsProtocol.__init__)
    for attribute in ("self.loop", "self.connections", "self.cycle", "self.transport"):
        assert f"{attribute} =" in init or f"{attribute}:" in init, attribute
    cycle = inspect.getsource(RequestResponseCycle.__init__)
    assert "self.keep_alive" in cycle and "self.response_complete" in cycle
    assert "self.scope = scope" in cycle  # the app's scope, marked by on_message_complete
    assert "self.scope = {" in inspect.getsource(HttpToolsProtocol.on_message_begin)
    assert issubclass(GuardedHttpToolsProtocol, HttpToolsProtocol)


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Undo what `configure_logging` does to this process's loggers."""
    import logging

    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, httpx_level = root.handlers[:], root.level, httpx_logger.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    httpx_logger.setLevel(httpx_level)


def test_workers_get_the_command_lines_settings(monkeypatch, tmp_path, logging_restored):
    from rerankit_proxy import http_guard, server

    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(CONFIG))
    flags = ServerSettings(max_header_bytes=2048, max_connections=7, body_timeout=3)
    # what `serve` puts in the environment for its worker processes
    monkeypatch.setenv("RERANKIT_PROXY_CONFIG", str(path))
    monkeypatch.setenv("RERANKIT_PROXY_SERVER_SETTINGS", flags.to_json())
    monkeypatch.setenv("RERANKIT_LOAD_PLUGINS", "local")
    monkeypatch.setattr(http_guard.GuardedHttpToolsProtocol, "settings", ServerSettings())
    app = server.app_from_environment()
    assert app.config.server == flags  # the app's body timeout
    assert http_guard.GuardedHttpToolsProtocol.settings == flags  # the worker's protocol


def test_open_files_limit_is_raised_to_fit_the_cap_or_the_gap_is_logged(caplog):
    import resource

    from rerankit_proxy import server

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 4096:
        pytest.skip("needs a finite hard limit of at least 4096 open files")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # lowering is always allowed
        server._ensure_file_limit(2000)  # needs 2000 + 256
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 2256
        assert "max_connections" not in caplog.text
        server._ensure_file_limit(hard)  # more than the hard limit allows
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
        assert f"max_connections = {hard} needs about {hard + 256} open files" in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
