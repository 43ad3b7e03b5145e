"""A real `rerankit serve` (uvicorn, in a subprocess) in front of fake NIM servers.

One proxy per test session serves `GATEWAY_CONFIG`; tests that need another config start
their own with `ProxyProcess`. Every upstream is a `FakeNimServer` on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import NIM_KEY
from tests.fakes.nim_server import FakeNimServer

MASTER = "sk-master-test-0001"
TEAM_KEY = "sk-team-a-key-0002"
LIMITED_KEY = "sk-limited-key-0003"
ALL_KEYS = (MASTER, TEAM_KEY, LIMITED_KEY, NIM_KEY)
HOSTED_MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
SELF_HOSTED_MODEL = "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"
QUERY = "What is the GPU memory bandwidth of H100 SXM?"
DOCS = [
    "The Hopper GPU is paired with the Grace CPU, delivering 900GB/s of bandwidth.",
    "A100 provides up to 20X higher performance over the prior generation.",
    "Accelerated servers with H100 deliver 3 terabytes per second of memory bandwidth per GPU.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProxyProcess:
    """`rerankit serve` in a subprocess; `.url`, `.log()` (stderr), `.stdout()`."""

    def __init__(
        self,
        tmp: Path,
        config: dict[str, Any] | None,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        tmp.mkdir(parents=True, exist_ok=True)
        self._stdout = tmp / f"proxy-{self.port}.out"
        self._stderr = tmp / f"proxy-{self.port}.err"
        command = [sys.executable, "-m", "rerankit.cli", "serve", "--port", str(self.port)]
        if config is not None:
            path = tmp / f"config-{self.port}.yaml"
            path.write_text(yaml.safe_dump(config))
            command += ["--config", str(path)]
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*command, *args],
                stdout=out,
                stderr=err,
                env={**os.environ, **(env or {})},
            )

    def wait_ready(self, timeout: float = 20.0) -> ProxyProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"proxy exited {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.url}/health/readiness", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"proxy not ready after {timeout}s: {self.log()}")

    def log(self) -> str:
        return self._stderr.read_text(errors="replace")

    def stdout(self) -> str:
        return self._stdout.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


@pytest.fixture(scope="session")
def bad_nim() -> Iterator[FakeNimServer]:
    """An upstream whose every POST fails with 503."""
    with FakeNimServer(failure_rate=1.0, failure_statuses=(503,)) as server:
        yield server


@pytest.fixture(scope="session")
def second_nim() -> Iterator[FakeNimServer]:
    """A second healthy upstream (self-hosted, no key)."""
    with FakeNimServer() as server:
        yield server


@pytest.fixture(scope="session")
def spare_nim() -> Iterator[FakeNimServer]:
    """An upstream reserved for tests that inject faults (429, slow answers)."""
    with FakeNimServer() as server:
        yield server


@pytest.fixture
def canary() -> Iterator[FakeNimServer]:
    """An upstream no request should ever reach (request forgery tests)."""
    with FakeNimServer() as server:
        yield server


def gateway_config(
    nim: FakeNimServer, second: FakeNimServer, bad: FakeNimServer, spare: FakeNimServer
) -> dict[str, Any]:
    """The session proxy's config: both spellings, env keys, groups, fallbacks, limits."""
    return {
        "model_list": [
            # the gateway spelling, key from the environment
            {
                "model_name": "nim",
                "litellm_params": {
                    "model": HOSTED_MODEL,
                    "api_key": "os.environ/PROXY_TEST_NIM_KEY",
                    "api_base": nim.url,
                },
            },
            # the native spelling: a load-balanced pair of healthy upstreams
            {
                "model_name": "pair",
                "id": "pair-a",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url, "api_key": NIM_KEY},
            },
            {
                "model_name": "pair",
                "id": "pair-b",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": second.url},
            },
            # one healthy and one failing upstream
            {
                "model_name": "flaky",
                "id": "flaky-good",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": second.url},
            },
            {
                "model_name": "flaky",
                "id": "flaky-bad",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": bad.url},
            },
            # always failing, falls back to bm25
            {
                "model_name": "broken",
                "id": "broken-1",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": bad.url},
            },
            {
                "model_name": "doomed",
                "id": "doomed-1",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": bad.url},
            },
            {
                "model_name": "faulty",
                "id": "faulty-1",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": spare.url, "truncate": "END"},
            },
            {"model_name": "bm25", "params": {"model": "local/bm25"}},
            # the client retries this deployment itself once before the router sees a failure
            {
                "model_name": "retrying",
                "id": "retrying-1",
                "litellm_params": {
                    "model": SELF_HOSTED_MODEL,
                    "api_base": spare.url,
                    "max_retries": 1,
                },
            },
            # a wildcard: "wild/<org>/<model>" -> "nvidia_nim/<org>/<model>"
            {
                "model_name": "wild/*",
                "params": {
                    "model": "nvidia_nim/*",
                    "api_base": nim.url,
                    "api_key": "os.environ/PROXY_TEST_NIM_KEY",
                },
            },
        ],
        "general_settings": {"master_key": MASTER},
        "keys": [
            {"name": "team-a", "key": TEAM_KEY, "models": ["nim", "bm25"]},
            {"name": "limited", "key": LIMITED_KEY, "models": ["*"], "rpm": 3},
        ],
        "router_settings": {
            "num_retries": 2,
            "allowed_fails": 1,
            "cooldown_time": 600,
            "fallbacks": [{"broken": ["bm25"]}],
        },
        "limits": {
            "max_body_bytes": 65536,
            "max_documents": 40,
            "max_query_chars": 300,
            "max_document_chars": 2000,
            "request_timeout": 2,
        },
    }


@pytest.fixture(scope="session")
def proxy(
    tmp_path_factory: pytest.TempPathFactory,
    nim_server: FakeNimServer,
    second_nim: FakeNimServer,
    bad_nim: FakeNimServer,
    spare_nim: FakeNimServer,
) -> Iterator[ProxyProcess]:
    """The session's proxy, ready to serve `gateway_config`."""
    config = gateway_config(nim_server, second_nim, bad_nim, spare_nim)
    env = {"PROXY_TEST_NIM_KEY": NIM_KEY, "RERANKIT_LOAD_PLUGINS": "nvidia_nim,local,proxy"}
    process = ProxyProcess(tmp_path_factory.mktemp("proxy"), config, env=env)
    try:
        yield process.wait_ready()
    finally:
        process.stop()


@pytest.fixture
def client(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    """An httpx client for the session proxy, with the master key."""
    with httpx.Client(
        base_url=proxy.url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=10
    ) as c:
        yield c
