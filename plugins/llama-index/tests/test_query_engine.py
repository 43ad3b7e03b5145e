"""RerankitRerank as a query engine's node postprocessor, sync and async.

A SummaryIndex (every node, no embeddings) and a VectorStoreIndex on MockEmbedding feed
the reranker, and llama-index's MockLLM answers: nothing is downloaded. The reranking
runs on the offline `local/bm25` model and on the fake NIM over real loopback HTTP.
"""

from __future__ import annotations

import pytest
from llama_index.core import SummaryIndex, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM

import rerankit
from llama_index.postprocessor.rerankit import SCORE_KIND_KEY, RerankitRerank
from rerankit.errors import AuthenticationError

from .conftest import NIM_KEY, NIM_MODEL, QUERY


@pytest.fixture(params=["bm25", "nim"])
def options(request, nim):
    if request.param == "bm25":
        return {"model": "local/bm25"}
    return {"model": NIM_MODEL, "api_base": nim.url, "api_key": NIM_KEY}


def summary_engine(corpus, reranker):
    return SummaryIndex(corpus).as_query_engine(llm=MockLLM(), node_postprocessors=[reranker])


def test_query_engine_answers_from_the_reranked_nodes(options, corpus):
    response = summary_engine(corpus, RerankitRerank(top_n=2, **options)).query(QUERY)

    sources = response.source_nodes
    assert [n.node.node_id for n in sources][:1] == ["b"]
    assert len(sources) == 2
    assert sources[0].score >= sources[1].score
    # MockLLM echoes the prompt: the LLM saw exactly the reranked nodes, the rest cut.
    kept = {n.node.node_id for n in sources}
    for node in corpus:
        assert (node.text in str(response)) == (node.node_id in kept)


async def test_query_engine_async_uses_the_async_path(options, corpus):
    async with rerankit.AsyncClient() as client:
        # Only an async client: the sync path would refuse, so this proves aquery's path.
        reranker = RerankitRerank(top_n=1, async_client=client, **options)
        response = await summary_engine(corpus, reranker).aquery(QUERY)
    assert [n.node.node_id for n in response.source_nodes] == ["b"]


def test_vector_index_retriever_then_rerank(corpus):
    index = VectorStoreIndex(corpus, embed_model=MockEmbedding(embed_dim=8))
    engine = index.as_query_engine(
        llm=MockLLM(),
        similarity_top_k=4,
        node_postprocessors=[RerankitRerank(model="local/bm25", top_n=1)],
    )
    response = engine.query(QUERY)
    assert [n.node.node_id for n in response.source_nodes] == ["b"]
    assert response.source_nodes[0].node.metadata[SCORE_KIND_KEY] == "bm25"


async def test_query_engine_does_not_swallow_rerankit_errors(nim, corpus):
    reranker = RerankitRerank(model=NIM_MODEL, api_base=nim.url, api_key="nvapi-wrong")
    engine = summary_engine(corpus, reranker)
    with pytest.raises(AuthenticationError):
        engine.query(QUERY)
    with pytest.raises(AuthenticationError):
        await engine.aquery(QUERY)
