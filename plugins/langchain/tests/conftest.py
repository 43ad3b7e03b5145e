"""A fake NIM on 127.0.0.1 (the repository's tests/fakes server) and a small corpus."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.documents import Document

from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-langchain-test-key"
NIM_MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
QUERY = "what is the memory bandwidth of H100"


@pytest.fixture(scope="session")
def nim_server() -> Iterator[FakeNimServer]:
    with FakeNimServer(api_key=NIM_KEY) as server:
        yield server


@pytest.fixture
def nim(nim_server: FakeNimServer) -> FakeNimServer:
    nim_server.clear()
    return nim_server


@pytest.fixture
def corpus() -> list[Document]:
    return [
        Document("A100 provides up to 20X higher performance.", metadata={"src": "a"}, id="a"),
        Document("H100 memory bandwidth is 3 TB/s per GPU.", metadata={"src": "b"}, id="b"),
        Document("Grace connects to Hopper with 900GB/s.", metadata={"src": "c"}, id="c"),
        Document("Cheese is made from milk.", metadata={"src": "d"}, id="d"),
    ]
