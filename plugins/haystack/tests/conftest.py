"""A fake NIM on 127.0.0.1 (the repository's tests/fakes server) and a small corpus.

Haystack sends usage telemetry from pipeline runs unless told not to, and reads the switch
when it is first imported: it is turned off here, before any test imports haystack.
"""

from __future__ import annotations

import os

os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"

from collections.abc import Iterator

import pytest
from haystack import Document

from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-haystack-test-key"
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
        Document(id="a", content="A100 provides up to 20X higher performance.", meta={"k": 1}),
        Document(id="b", content="H100 memory bandwidth is 3 TB/s per GPU.", meta={"k": 2}),
        Document(id="c", content="Grace connects to Hopper with 900GB/s.", meta={"k": 3}),
        Document(id="d", content="Cheese is made from milk.", meta={"k": 4}),
    ]
