"""LangChain's `CohereRerank` (langchain-cohere, unchanged) pointed at a real proxy.

It sends `max_tokens_per_doc: null` on every call, which the proxy once refused (422).
langchain-cohere pins `cohere<6` while the dev group tests the current Cohere SDK, so it
is not in the dev group: `.ci/run` runs this module with
`uv run --with langchain-cohere`, and a plain `pytest` skips it.
"""

from __future__ import annotations

import pytest

from tests.proxy.conftest import MASTER

langchain_cohere = pytest.importorskip(
    "langchain_cohere", reason="run by .ci/run with `uv run --with langchain-cohere`"
)
from langchain_core.documents import Document  # noqa: E402

DOCS = ["cats and dogs", "H100 memory bandwidth", "memory of a goldfish"]


def test_cohere_rerank_ranks_through_the_proxy(proxy):
    reranker = langchain_cohere.CohereRerank(
        model="bm25", cohere_api_key=MASTER, base_url=proxy.url, top_n=2
    )
    results = reranker.rerank(DOCS, "H100 memory bandwidth")
    assert [r["index"] for r in results] == [1, 2]


def test_cohere_rerank_compresses_documents_through_the_proxy(proxy):
    reranker = langchain_cohere.CohereRerank(
        model="bm25", cohere_api_key=MASTER, base_url=proxy.url, top_n=2
    )
    compressed = reranker.compress_documents(
        [Document(page_content=d, metadata={"n": i}) for i, d in enumerate(DOCS)],
        "H100 memory bandwidth",
    )
    assert [d.metadata["n"] for d in compressed] == [1, 2]
    assert compressed[0].metadata["relevance_score"] > compressed[1].metadata["relevance_score"]
