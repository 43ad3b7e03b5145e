"""A real redis-server on a free loopback port, the fake NIM, and a clean environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-cache-test-key-never-stored"
NIM_MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
REDIS_BINARY = shutil.which("redis-server")


@dataclass
class RedisServer:
    """A redis-server process of this test session."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def alive(self) -> bool:
        return self.process.poll() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(tmp: Path) -> RedisServer:
    """Start redis-server on a free loopback port; no persistence; wait until it answers."""
    if REDIS_BINARY is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI: .ci/run must install it")
        pytest.skip("redis-server is not installed here (.ci/run installs it: apt-get)")
    port = _free_port()
    process = subprocess.Popen(
        [
            REDIS_BINARY,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(port, process)
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within 10 s")


def stop_redis(server: RedisServer) -> None:
    if server.alive():
        server.process.kill()
    server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """The session's redis-server (tests that kill one start their own)."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    stop_redis(server)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied."""
    import redis

    client = redis.Redis(port=redis_server.port)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def nim_server() -> Iterator[FakeNimServer]:
    with FakeNimServer(api_key=NIM_KEY) as server:
        yield server


@pytest.fixture
def nim(nim_server: FakeNimServer, monkeypatch: pytest.MonkeyPatch) -> FakeNimServer:
    """The fake NIM, cleared, with its base URL and key in the environment."""
    nim_server.clear()
    nim_server.post_count = 0  # clear() keeps it; each test counts its own POSTs
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim_server.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    return nim_server


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RERANKIT_CACHE", "NVIDIA_NIM_API_KEY", "NVIDIA_NIM_API_BASE"):
        monkeypatch.delenv(name, raising=False)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def nim_key() -> str:
    return NIM_KEY


@pytest.fixture
def nim_model() -> str:
    return NIM_MODEL
