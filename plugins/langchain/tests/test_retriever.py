"""RerankitRerank inside LangChain's ContextualCompressionRetriever, sync and async.

A small in-memory retriever feeds the compressor; the reranking runs on the offline
`local/bm25` model and on the fake NIM over real loopback HTTP.
"""

from __future__ import annotations

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from langchain_rerankit import RerankitRerank
from rerankit.errors import AuthenticationError

from .conftest import NIM_KEY, NIM_MODEL, QUERY


class ListRetriever(BaseRetriever):
    """Returns every stored document that shares a word with the query, in store order."""

    docs: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = set(query.lower().split())
        return [d for d in self.docs if words & set(d.page_content.lower().split())]


def pipeline(corpus, **options) -> ContextualCompressionRetriever:
    return ContextualCompressionRetriever(
        base_compressor=RerankitRerank(**options), base_retriever=ListRetriever(docs=corpus)
    )


@pytest.fixture(params=["bm25", "nim"])
def options(request, nim):
    if request.param == "bm25":
        return {"model": "local/bm25"}
    return {"model": NIM_MODEL, "api_base": nim.url, "api_key": NIM_KEY}


def test_retriever_returns_reranked_documents(options, corpus):
    docs = pipeline(corpus, top_n=2, **options).invoke(QUERY)

    assert len(docs) == 2
    assert docs[0].id == "b"
    assert docs[0].metadata["relevance_score"] >= docs[1].metadata["relevance_score"]
    assert {d.metadata["src"] for d in docs} <= {"a", "b", "c", "d"}


async def test_retriever_async(options, corpus):
    docs = await pipeline(corpus, top_n=1, **options).ainvoke(QUERY)
    assert [d.id for d in docs] == ["b"]


def test_retriever_with_nothing_retrieved_makes_no_call(nim, corpus):
    retriever = pipeline(corpus, model=NIM_MODEL, api_base=nim.url, api_key=NIM_KEY)
    assert retriever.invoke("zeppelins") == []
    assert nim.requests == []


async def test_retriever_does_not_swallow_rerankit_errors(nim, corpus):
    retriever = pipeline(corpus, model=NIM_MODEL, api_base=nim.url, api_key="nvapi-wrong")
    with pytest.raises(AuthenticationError):
        await retriever.ainvoke(QUERY)
    with pytest.raises(AuthenticationError):
        retriever.invoke(QUERY)
