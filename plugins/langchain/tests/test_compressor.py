"""RerankitRerank on its own: options, ordering, metadata, input checks, errors, secrets."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.load import dumpd, dumps
from pydantic import ValidationError

import rerankit
from langchain_rerankit import RerankitRerank
from rerankit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    InvalidRequestError,
    ProviderTimeoutError,
)

from .conftest import NIM_KEY, NIM_MODEL, QUERY


def nim_reranker(nim, **kwargs) -> RerankitRerank:
    return RerankitRerank(model=NIM_MODEL, api_base=nim.url, api_key=NIM_KEY, **kwargs)


def test_best_first_with_scores_and_original_metadata(corpus):
    ranked = RerankitRerank(model="local/bm25", top_n=2).compress_documents(corpus, QUERY)

    assert len(ranked) == 2
    assert ranked[0].id == "b"
    assert ranked[0].metadata["src"] == "b"
    assert ranked[0].metadata["score_kind"] == "bm25"
    assert ranked[0].metadata["relevance_score"] > ranked[1].metadata["relevance_score"]
    assert "relevance_score" not in corpus[1].metadata  # the inputs are not modified


def test_top_n_none_returns_every_document(corpus):
    ranked = RerankitRerank(model="local/bm25", top_n=None).compress_documents(corpus, QUERY)
    assert sorted(d.id for d in ranked) == ["a", "b", "c", "d"]


def test_nim_call_carries_params_and_score_kind(nim, corpus):
    ranked = nim_reranker(nim, params={"truncate": "END"}).compress_documents(corpus, QUERY)

    sent = nim.requests[-1].json
    assert sent["truncate"] == "END"
    assert sent["query"] == {"text": QUERY}
    assert [p["text"] for p in sent["passages"]] == [d.page_content for d in corpus]
    assert ranked[0].id == "b"
    assert ranked[0].metadata["score_kind"] == "logit"


def test_empty_input_returns_empty_without_a_call(nim):
    assert nim_reranker(nim).compress_documents([], QUERY) == []
    assert nim.requests == []


def test_document_without_text_is_a_clear_error_before_any_call(nim, corpus):
    docs = [*corpus, Document(" ", metadata={"src": "e"})]
    with pytest.raises(InvalidRequestError, match=r"documents\[4\] has no text"):
        nim_reranker(nim).compress_documents(docs, QUERY)
    assert nim.requests == []


def test_document_template_reranks_metadata_fields():
    docs = [
        Document("Specifications and prices.", metadata={"title": "A100 datasheet"}),
        Document("Specifications and prices.", metadata={"title": "H100 datasheet"}),
    ]
    reranker = RerankitRerank(
        model="local/bm25", top_n=1, document_template="{title}: {page_content}"
    )
    ranked = reranker.compress_documents(docs, "H100")
    assert ranked[0].metadata["title"] == "H100 datasheet"
    assert ranked[0].page_content == "Specifications and prices."  # text stays the document's


def test_document_template_missing_field_names_it():
    reranker = RerankitRerank(model="local/bm25", document_template="{title} {page_content}")
    with pytest.raises(InvalidRequestError, match=r"documents\[0\] lacks metadata \['title'\]"):
        reranker.compress_documents([Document("text", metadata={})], "q")


def test_document_template_format_spec_is_applied(nim):
    reranker = RerankitRerank(
        model=NIM_MODEL,
        api_base=nim.url,
        api_key=NIM_KEY,
        document_template="{year:d}: {page_content}",
    )
    reranker.compress_documents([Document("H100 specs", metadata={"year": 2022})], "H100")
    assert nim.requests[-1].json["passages"] == [{"text": "2022: H100 specs"}]


def test_document_template_value_that_does_not_fit_names_the_document():
    reranker = RerankitRerank(model="local/bm25", document_template="{year:d} {page_content}")
    with pytest.raises(InvalidRequestError, match=r"documents\[0\] does not fit"):
        reranker.compress_documents([Document("text", metadata={"year": "2022"})], "q")


@pytest.mark.parametrize(
    "template",
    [
        "{page_content.__class__}",
        "{metadata[x]}",
        "{page_content:{x.__class__}}",  # a nested field in a format spec is evaluated too
        "no fields",
        "{page_content",
    ],
)
def test_unsafe_or_broken_template_is_refused_at_construction(template):
    with pytest.raises(ValidationError, match="document_template"):
        RerankitRerank(model="local/bm25", document_template=template)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": "bm25"}, "model"),
        ({"model": "local/bm25", "top_n": 0}, "top_n"),
        ({"model": "local/bm25", "max_retries": -1}, "max_retries"),
        ({"model": "local/bm25", "timeout": 0}, "timeout"),
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


def test_unknown_provider_parameter_is_rerankits_typed_error(nim, corpus):
    with pytest.raises(InvalidParameterError, match="truncation"):
        nim_reranker(nim, params={"truncation": "END"}).compress_documents(corpus, QUERY)


def test_upstream_errors_propagate_typed_and_without_the_key(nim, corpus):
    reranker = RerankitRerank(model=NIM_MODEL, api_base=nim.url, api_key="nvapi-wrong-key")
    with pytest.raises(AuthenticationError) as caught:
        reranker.compress_documents(corpus, QUERY)
    assert "nvapi-wrong-key" not in str(caught.value)


def test_fallbacks_answer_when_the_model_fails(nim, corpus):
    nim.enqueue_faults(["status:500"])
    reranker = nim_reranker(nim, max_retries=0, fallbacks=["local/bm25"])
    ranked = reranker.compress_documents(corpus, QUERY)
    assert ranked[0].id == "b"
    assert ranked[0].metadata["score_kind"] == "bm25"


def test_timeout_bounds_the_call(nim, corpus):
    nim.enqueue_faults(["hang"])
    with pytest.raises(ProviderTimeoutError):
        nim_reranker(nim, timeout=0.3, max_retries=0).compress_documents(corpus, QUERY)


def test_given_client_is_used(nim, corpus):
    with rerankit.Client(max_documents_per_request=2) as client:
        ranked = nim_reranker(nim, client=client, top_n=None).compress_documents(corpus, QUERY)
    assert len(nim.requests) == 2  # the client's limit split the call
    assert ranked[0].id == "b"


def test_only_an_async_client_refuses_sync_calls(corpus):
    reranker = RerankitRerank(model="local/bm25", async_client=rerankit.AsyncClient())
    with pytest.raises(ConfigurationError, match="acompress_documents"):
        reranker.compress_documents(corpus, QUERY)


async def test_async_with_a_given_async_client(nim, corpus):
    async with rerankit.AsyncClient(max_documents_per_request=3) as client:
        reranker = nim_reranker(nim, async_client=client)
        ranked = await reranker.acompress_documents(corpus, QUERY)
    assert len(nim.requests) == 2
    assert [d.id for d in ranked][:1] == ["b"]


async def test_async_with_only_a_sync_client_uses_it(nim, corpus):
    with rerankit.Client(max_documents_per_request=1) as client:
        ranked = await nim_reranker(nim, client=client).acompress_documents(corpus, QUERY)
    assert len(nim.requests) == 4
    assert ranked[0].id == "b"


async def test_async_empty_and_errors(nim, corpus):
    assert await nim_reranker(nim).acompress_documents([], QUERY) == []
    with pytest.raises(InvalidRequestError, match="query"):
        await nim_reranker(nim).acompress_documents(corpus, "  ")
    assert nim.requests == []


def test_key_never_in_repr_or_serialisation(nim):
    reranker = nim_reranker(nim, client=rerankit.Client())
    for text in (repr(reranker), str(reranker), dumps(reranker), str(dumpd(reranker))):
        assert NIM_KEY not in text
    assert NIM_KEY not in reranker.model_dump_json()
    assert "client" not in reranker.model_dump()
