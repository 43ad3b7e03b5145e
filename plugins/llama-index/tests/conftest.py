"""A fake NIM on 127.0.0.1 (the repository's tests/fakes server) and a small corpus."""

from __future__ import annotations

from collections.abc import Iterator

import llama_index.core
import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from tests.fakes.nim_server import FakeNimServer

NIM_KEY = "nvapi-llama-index-test-key"
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
def corpus() -> list[TextNode]:
    return [
        TextNode(id_="a", text="A100 provides up to 20X higher performance.", metadata={"k": 1}),
        TextNode(id_="b", text="H100 memory bandwidth is 3 TB/s per GPU.", metadata={"k": 2}),
        TextNode(id_="c", text="Grace connects to Hopper with 900GB/s.", metadata={"k": 3}),
        TextNode(id_="d", text="Cheese is made from milk.", metadata={"k": 4}),
    ]


@pytest.fixture
def nodes(corpus: list[TextNode]) -> list[NodeWithScore]:
    return [NodeWithScore(node=node, score=0.5) for node in corpus]


@pytest.fixture(autouse=True)
def _offline_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Word counts for the response synthesizer's prompt budget.

    llama-index's default tokenizer is tiktoken's, loaded from a copy bundled with
    llama-index-core; some version pairs miss that copy and download it. Tests never do.
    """
    monkeypatch.setattr(llama_index.core, "global_tokenizer", str.split)
