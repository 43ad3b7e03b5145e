"""Shared fixtures: a fake NIM server on 127.0.0.1, and a clean plugin/env state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-test-key-never-logged"


@pytest.fixture(scope="session")
def nim_server() -> Iterator[FakeNimServer]:
    """A fake NIM (hosted and self-hosted routes) that requires NIM_KEY."""
    with FakeNimServer(api_key=NIM_KEY) as server:
        yield server


@pytest.fixture
def nim(nim_server: FakeNimServer) -> FakeNimServer:
    """The session's fake NIM with its recorded requests cleared."""
    nim_server.clear()
    return nim_server


@pytest.fixture(scope="session")
def open_nim_server() -> Iterator[FakeNimServer]:
    """A fake self-hosted NIM that needs no key."""
    with FakeNimServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NVIDIA_NIM_API_KEY", "NVIDIA_NIM_API_BASE", "NVIDIA_NIM_RERANK_API_BASE"):
        monkeypatch.delenv(name, raising=False)
