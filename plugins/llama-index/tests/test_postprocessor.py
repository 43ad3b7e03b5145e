"""RerankitRerank on its own: options, ordering, scores, input checks, errors, secrets."""

from __future__ import annotations

import pytest
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from pydantic import ValidationError

import rerankit
from llama_index.postprocessor.rerankit import SCORE_KIND_KEY, RerankitRerank
from rerankit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    InvalidRequestError,
    ProviderTimeoutError,
)

from .conftest import NIM_KEY, NIM_MODEL, QUERY


def nim_reranker(nim, **kwargs) -> RerankitRerank:
    kwargs.setdefault("api_key", NIM_KEY)
    return RerankitRerank(model=NIM_MODEL, api_base=nim.url, **kwargs)


def test_best_first_with_scores_as_node_scores(nodes):
    ranked = RerankitRerank(model="local/bm25").postprocess_nodes(nodes, query_str=QUERY)

    assert len(ranked) == 2  # LlamaIndex rerankers' default top_n
    assert ranked[0].node.node_id == "b"
    assert ranked[0].score > ranked[1].score
    assert ranked[0].node.metadata == {"k": 2, SCORE_KIND_KEY: "bm25"}


def test_score_kind_stays_out_of_prompts_and_stored_nodes(nodes):
    ranked = RerankitRerank(model="local/bm25").postprocess_nodes(nodes, query_str=QUERY)
    node = ranked[0].node
    assert SCORE_KIND_KEY not in node.get_content(metadata_mode=MetadataMode.LLM)
    assert SCORE_KIND_KEY not in node.get_content(metadata_mode=MetadataMode.EMBED)
    assert nodes[1].node.metadata == {"k": 2}  # the retrieved node is not modified
    assert nodes[1].score == 0.5


def test_query_bundle_and_top_n_none(nodes):
    reranker = RerankitRerank(model="local/bm25", top_n=None)
    ranked = reranker.postprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert sorted(n.node.node_id for n in ranked) == ["a", "b", "c", "d"]


def test_missing_query_is_a_clear_error(nodes):
    with pytest.raises(InvalidRequestError, match="query_str"):
        RerankitRerank(model="local/bm25").postprocess_nodes(nodes)


def test_nim_call_carries_params_and_score_kind(nim, nodes):
    ranked = nim_reranker(nim, params={"truncate": "END"}).postprocess_nodes(nodes, query_str=QUERY)
    sent = nim.requests[-1].json
    assert sent["truncate"] == "END"
    assert [p["text"] for p in sent["passages"]] == [n.node.get_content() for n in nodes]
    assert ranked[0].node.node_id == "b"
    assert ranked[0].node.metadata[SCORE_KIND_KEY] == "logit"


def test_empty_input_returns_empty_without_a_call(nim):
    assert nim_reranker(nim).postprocess_nodes([], query_str=QUERY) == []
    assert nim.requests == []


def test_node_without_text_is_a_clear_error_before_any_call(nim, nodes):
    empty = NodeWithScore(node=TextNode(id_="e", text=""))
    with pytest.raises(InvalidRequestError, match=r"nodes\[4\] \(id 'e'\) has no text"):
        nim_reranker(nim).postprocess_nodes([*nodes, empty], query_str=QUERY)
    assert nim.requests == []


def test_metadata_mode_reranks_with_the_nodes_metadata():
    nodes = [
        NodeWithScore(node=TextNode(text="Specifications.", metadata={"title": "A100 sheet"})),
        NodeWithScore(node=TextNode(text="Specifications.", metadata={"title": "H100 sheet"})),
    ]

    def best(reranker: RerankitRerank) -> str:
        return reranker.postprocess_nodes(nodes, query_str="H100")[0].node.metadata["title"]

    # On the text alone the two tie (input order); with the metadata the H100 one wins.
    assert best(RerankitRerank(model="local/bm25", top_n=1)) == "A100 sheet"
    embed = RerankitRerank(model="local/bm25", top_n=1, metadata_mode=MetadataMode.EMBED)
    assert best(embed) == "H100 sheet"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "bm25"}, "model"),
        ({"model": "local/bm25", "top_n": 0}, "top_n"),
        ({"model": "local/bm25", "max_retries": -1}, "max_retries"),
        ({"model": "local/bm25", "timeout": 0}, "timeout"),
        ({"model": "local/bm25", "metadata_mode": "everything"}, "metadata_mode"),
        ({"model": "local/bm25", "top_k": 3}, "top_k"),  # unknown options are refused
        ({"model": "local/bm25", "params": {"top_n": 2}}, "params"),
    ],
)
def test_bad_options_are_refused_at_construction(kwargs, field):
    with pytest.raises(ValidationError, match=field):
        RerankitRerank(**kwargs)


def test_a_key_in_params_is_refused_without_quoting_it():
    with pytest.raises(ValidationError, match=r"params holds \['api_key'\]") as caught:
        RerankitRerank(model="local/bm25", params={"api_key": "nvapi-in-params"})
    assert "nvapi-in-params" not in str(caught.value)


def test_unknown_provider_parameter_is_rerankits_typed_error(nim, nodes):
    with pytest.raises(InvalidParameterError, match="truncation"):
        nim_reranker(nim, params={"truncation": "END"}).postprocess_nodes(nodes, query_str=QUERY)


def test_upstream_errors_propagate_typed_and_without_the_key(nim, nodes):
    reranker = RerankitRerank(model=NIM_MODEL, api_base=nim.url, api_key="nvapi-wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        reranker.postprocess_nodes(nodes, query_str=QUERY)
    assert "nvapi-wrong-key" not in str(caught.value)


def test_fallbacks_and_timeout(nim, nodes):
    nim.enqueue_faults(["status:500"])
    ranked = nim_reranker(nim, max_retries=0, fallbacks=["local/bm25"]).postprocess_nodes(
        nodes, query_str=QUERY
    )
    assert ranked[0].node.metadata[SCORE_KIND_KEY] == "bm25"

    nim.enqueue_faults(["hang"])
    with pytest.raises(ProviderTimeoutError):
        nim_reranker(nim, timeout=0.3, max_retries=0).postprocess_nodes(nodes, query_str=QUERY)


def test_given_client_is_used(nim, nodes):
    with rerankit.Client(max_documents_per_request=2) as client:
        ranked = nim_reranker(nim, client=client).postprocess_nodes(nodes, query_str=QUERY)
    assert len(nim.requests) == 2
    assert ranked[0].node.node_id == "b"


def test_only_an_async_client_refuses_sync_calls(nodes):
    reranker = RerankitRerank(model="local/bm25", async_client=rerankit.AsyncClient())
    with pytest.raises(ConfigurationError, match="apostprocess_nodes"):
        reranker.postprocess_nodes(nodes, query_str=QUERY)


def test_reranking_is_reported_to_llama_index_callbacks(nodes):
    debug = LlamaDebugHandler()
    reranker = RerankitRerank(model="local/bm25", callback_manager=CallbackManager([debug]))
    reranker.postprocess_nodes(nodes, query_str=QUERY)
    start, end = debug.get_event_pairs(CBEventType.RERANKING)[0]
    assert start.payload["model_name"] == "local/bm25"
    assert end.payload["nodes"][0].node.node_id == "b"


async def test_async_with_a_given_async_client(nim, nodes):
    async with rerankit.AsyncClient(max_documents_per_request=3) as client:
        reranker = nim_reranker(nim, async_client=client)
        ranked = await reranker.apostprocess_nodes(nodes, query_str=QUERY)
    assert len(nim.requests) == 2
    assert ranked[0].node.node_id == "b"


async def test_async_with_only_a_sync_client_uses_it(nim, nodes):
    with rerankit.Client(max_documents_per_request=1) as client:
        ranked = await nim_reranker(nim, client=client).apostprocess_nodes(nodes, query_str=QUERY)
    assert len(nim.requests) == 4
    assert ranked[0].node.node_id == "b"


async def test_async_empty_and_errors(nim, nodes):
    assert await nim_reranker(nim).apostprocess_nodes([], query_str=QUERY) == []
    with pytest.raises(InvalidRequestError, match="query"):
        await nim_reranker(nim).apostprocess_nodes(nodes, query_str=" ")
    with pytest.raises(AuthenticationError):
        await nim_reranker(nim, api_key="nvapi-wrong").apostprocess_nodes(nodes, query_str=QUERY)


def test_key_never_in_repr_or_serialisation(nim):
    reranker = nim_reranker(nim, client=rerankit.Client())
    for text in (repr(reranker), str(reranker), reranker.to_json(), str(reranker.to_dict())):
        assert NIM_KEY not in text
    data = reranker.to_dict()
    assert "api_key" not in data
    assert "client" not in data
    restored = RerankitRerank.from_dict(data)
    assert (restored.model, restored.api_base, restored.api_key) == (NIM_MODEL, nim.url, None)
