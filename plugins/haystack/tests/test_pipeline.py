"""RerankitRanker in Haystack pipelines: InMemoryBM25Retriever -> RerankitRanker.

Sync (`Pipeline.run`) and async (`run_async`: `AsyncPipeline`'s in Haystack 2, `Pipeline`'s
in 3), on the offline `local/bm25` model and on the fake NIM over real loopback HTTP; and a
pipeline saved to YAML and loaded.
"""

from __future__ import annotations

import pytest
from haystack import Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.core.errors import PipelineRuntimeError
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import Secret

import rerankit
from haystack_integrations.components.rankers.rerankit import SCORE_KIND_KEY, RerankitRanker
from rerankit.errors import AuthenticationError

from .conftest import NIM_KEY, NIM_MODEL, QUERY

try:
    from haystack import AsyncPipeline  # Haystack 2.x
except ImportError:  # Haystack 3 has run_async on Pipeline itself
    AsyncPipeline = Pipeline


def test_haystack_telemetry_is_off():
    from haystack.telemetry import _telemetry

    assert _telemetry.telemetry is None  # no usage data leaves the test machine


def build(pipeline_class, corpus, ranker):
    store = InMemoryDocumentStore()
    store.write_documents(corpus)
    pipeline = pipeline_class()
    pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=4))
    pipeline.add_component("ranker", ranker)
    pipeline.connect("retriever.documents", "ranker.documents")
    return pipeline


def inputs(top_k=None):
    ranker = {"query": QUERY} if top_k is None else {"query": QUERY, "top_k": top_k}
    return {"retriever": {"query": QUERY}, "ranker": ranker}


@pytest.fixture(params=["bm25", "nim"])
def options(request, nim, monkeypatch):
    if request.param == "bm25":
        return {"model": "local/bm25"}
    monkeypatch.setenv("RERANKIT_TEST_NIM_KEY", NIM_KEY)
    return {
        "model": NIM_MODEL,
        "api_base": nim.url,
        "api_key": Secret.from_env_var("RERANKIT_TEST_NIM_KEY"),
    }


def test_pipeline_ranks_the_retrieved_documents(options, corpus):
    result = build(Pipeline, corpus, RerankitRanker(top_k=3, **options)).run(inputs(top_k=2))

    docs = result["ranker"]["documents"]
    assert len(docs) == 2
    assert docs[0].id == "b"
    assert docs[0].score >= docs[1].score
    assert docs[0].meta["k"] == 2
    assert docs[0].meta[SCORE_KIND_KEY] in ("bm25", "logit")


async def test_async_pipeline_uses_run_async(options, corpus):
    async with rerankit.AsyncClient() as client:
        # Only an async client: run() would refuse, so this proves run_async was used.
        ranker = RerankitRanker(top_k=1, async_client=client, **options)
        result = await build(AsyncPipeline, corpus, ranker).run_async(inputs())
    assert [d.id for d in result["ranker"]["documents"]] == ["b"]


def test_pipeline_saved_to_yaml_and_loaded_ranks_alike(nim, corpus, monkeypatch):
    monkeypatch.setenv("RERANKIT_TEST_NIM_KEY", NIM_KEY)
    ranker = RerankitRanker(
        model=NIM_MODEL,
        top_k=2,
        api_base=nim.url,
        api_key=Secret.from_env_var("RERANKIT_TEST_NIM_KEY"),
        params={"truncate": "END"},
    )
    yaml_text = build(Pipeline, corpus, ranker).dumps()
    assert NIM_KEY not in yaml_text
    assert "RERANKIT_TEST_NIM_KEY" in yaml_text

    loaded = Pipeline.loads(yaml_text)
    docs = loaded.run(inputs())["ranker"]["documents"]
    assert [d.id for d in docs][:1] == ["b"]
    assert nim.requests[-1].json["truncate"] == "END"


def test_pipeline_does_not_swallow_rerankit_errors(nim, corpus):
    ranker = RerankitRanker(
        model=NIM_MODEL, api_base=nim.url, api_key=Secret.from_token("nvapi-wrong")
    )
    with pytest.raises((AuthenticationError, PipelineRuntimeError)) as caught:
        build(Pipeline, corpus, ranker).run(inputs())
    # Haystack (since 2.x) wraps a component's failure in PipelineRuntimeError, our typed
    # error as its cause; nothing is swallowed or retyped.
    error = caught.value
    if not isinstance(error, AuthenticationError):
        assert isinstance(error, PipelineRuntimeError)
        assert isinstance(error.__cause__, AuthenticationError)
