"""Every transport honours the same proxy and TLS settings: environment and options.

A loopback forward proxy (CONNECT tunnels and absolute-URI requests, counted) and a
loopback HTTPS upstream whose certificate comes from a CA of the test's own (trustme).
The sync client and the async client on httpx, on aiohttp and on its own HTTP/1.1 client each go
through the proxy for `HTTP_PROXY`/`HTTPS_PROXY` and `proxy=`, around it for `NO_PROXY`,
and trust the test CA through `SSL_CERT_FILE`, `SSL_CERT_DIR` and `verify=`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from rerankit import AsyncClient, Client
from rerankit.errors import InvalidParameterError, ProviderConnectionError

from ..fakes.rerank_server import FakeRerankServer, Reply
from .fakes import registry

# "sync" and "async-lean" are the defaults (rerankit's own HTTP/1.1 client); with a proxy
# configured they hand the call to httpx/aiohttp, which these tests then see going through
# the proxy.
TRANSPORTS = ["sync", "sync-httpx", "async-httpx", "async-aiohttp", "async-lean"]
ENVIRONMENT = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "RERANKIT_ASYNC_TRANSPORT",
    "RERANKIT_SYNC_TRANSPORT",
)


class ForwardProxy:
    """A tiny HTTP forward proxy on 127.0.0.1: CONNECT tunnels and absolute-URI requests.

    It counts what it forwarded in `tunnels` (CONNECT) and `forwarded` (absolute-URI
    requests; the request line is rewritten to origin form, then bytes are piped).
    """

    def __init__(self) -> None:
        self.tunnels = 0
        self.forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        client.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.split(b" ", 2)
        if method == b"CONNECT":
            host, _, port = target.decode().rpartition(":")
            upstream = socket.create_connection((host, int(port)), timeout=5)
            self.tunnels += 1
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            leftover = rest.partition(b"\r\n\r\n")[2]
        else:  # absolute-URI: http://host:port/path
            authority, _, path = target.decode().removeprefix("http://").partition("/")
            host, _, port = authority.rpartition(":")
            upstream = socket.create_connection((host, int(port or 80)), timeout=5)
            self.forwarded += 1
            leftover = b" ".join([method, f"/{path}".encode(), version]) + b"\r\n" + rest
        if leftover:
            upstream.sendall(leftover)
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(one: socket.socket, other: socket.socket) -> None:
        def copy(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=copy, args=(other, one), daemon=True)
        back.start()
        copy(one, other)
        back.join(5)
        one.close()
        other.close()


def _answer(seen) -> Reply:
    docs = seen.json["documents"]
    return Reply(200, {"results": [{"index": i, "score": float(-i)} for i in range(len(docs))]})


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture
def upstream() -> Iterator[str]:
    with FakeRerankServer(_answer) as server:
        yield server.url


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_upstream(ca: trustme.CA) -> Iterator[str]:
    """An HTTPS upstream on 127.0.0.1 whose certificate only the test CA vouches for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = FakeRerankServer(_answer)
    inner = server._server
    inner.socket = context.wrap_socket(inner.socket, server_side=True)
    with server:
        host, port = inner.server_address[:2]
        yield f"https://{host}:{port}"


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def rerank(transport: str, monkeypatch: pytest.MonkeyPatch, base: str, **options) -> list[int]:
    """One call on a fresh client of `transport` (made after the environment is set)."""
    if transport.startswith("sync"):
        if transport == "sync-httpx":
            monkeypatch.setenv("RERANKIT_SYNC_TRANSPORT", "httpx")
        with Client(registry=registry(), max_retries=0, timeout=10, **options) as client:
            response = client.rerank("echo/m", "q", ["a", "b"], api_base=base)
        return [r.index for r in response.results]
    if transport in ("async-httpx", "async-aiohttp"):
        monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport.removeprefix("async-"))
    import asyncio

    async def call() -> list[int]:
        async with AsyncClient(registry=registry(), max_retries=0, timeout=10, **options) as c:
            response = await c.rerank("echo/m", "q", ["a", "b"], api_base=base)
        return [r.index for r in response.results]

    return asyncio.run(call())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http_proxy_from_the_environment_carries_the_call(transport, clean_env, upstream):
    with ForwardProxy() as proxy:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        assert rerank(transport, clean_env, upstream) == [0, 1]
    assert proxy.forwarded >= 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_proxy_goes_around_the_proxy(transport, clean_env, upstream):
    with ForwardProxy() as proxy:
        clean_env.setenv("HTTP_PROXY", proxy.url)
        clean_env.setenv("NO_PROXY", "127.0.0.1")
        assert rerank(transport, clean_env, upstream) == [0, 1]
    assert (proxy.forwarded, proxy.tunnels) == (0, 0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_proxy_option_carries_the_call_and_wins_over_the_environment(
    transport, clean_env, upstream
):
    with ForwardProxy() as proxy:
        clean_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: would fail
        assert rerank(transport, clean_env, upstream, proxy=proxy.url) == [0, 1]
    assert proxy.forwarded >= 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_unknown_ca_is_refused(transport, clean_env, tls_upstream):
    with pytest.raises(ProviderConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        rerank(transport, clean_env, tls_upstream)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ssl_cert_file_trusts_the_ca(transport, clean_env, tls_upstream, ca_file):
    clean_env.setenv("SSL_CERT_FILE", ca_file)
    assert rerank(transport, clean_env, tls_upstream) == [0, 1]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to hash the CA dir")
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ssl_cert_dir_trusts_the_ca(transport, clean_env, tls_upstream, ca_file, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", ca_file],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shutil.copy(ca_file, certs / f"{digest}.0")
    clean_env.setenv("SSL_CERT_DIR", str(certs))
    assert rerank(transport, clean_env, tls_upstream) == [0, 1]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_verify_option_takes_a_ca_bundle_or_false(transport, clean_env, tls_upstream, ca_file):
    assert rerank(transport, clean_env, tls_upstream, verify=ca_file) == [0, 1]
    assert rerank(transport, clean_env, tls_upstream, verify=False) == [0, 1]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_https_proxy_tunnels_to_a_tls_upstream(transport, clean_env, tls_upstream, ca_file):
    with ForwardProxy() as proxy:
        clean_env.setenv("HTTPS_PROXY", proxy.url)
        assert rerank(transport, clean_env, tls_upstream, verify=ca_file) == [0, 1]
    assert proxy.tunnels >= 1 and proxy.forwarded == 0


def test_options_for_the_pool_are_refused_with_the_callers_own_client():
    import httpx

    with pytest.raises(InvalidParameterError, match="configure that one instead"):
        Client(http_client=httpx.Client(), proxy="http://127.0.0.1:3128")
    with pytest.raises(InvalidParameterError, match="configure that one instead"):
        AsyncClient(transport=httpx.AsyncHTTPTransport(), verify=False)
    with pytest.raises(InvalidParameterError, match="proxy must be an http"):
        Client(proxy="socks9://x")
    with pytest.raises(InvalidParameterError, match="not a readable CA bundle"):
        Client(verify="/nonexistent/ca.pem")


def test_the_clients_reach_the_network_only_through_the_sender_seam():
    """No HTTP library in the shared steps; no branch on the transport in the async client."""
    import ast

    import rerankit._async_client
    import rerankit._base_client

    def imported(module) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module or "")
        return names

    assert not {"httpx", "aiohttp"} & imported(rerankit._base_client)
    source = Path(rerankit._async_client.__file__).read_text()
    assert "AiohttpClient" not in source and "send_json" not in source
