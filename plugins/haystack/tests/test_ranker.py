"""RerankitRanker on its own: options, ordering, scores, input checks, errors, secrets."""

from __future__ import annotations

import pytest
from haystack import Document
from haystack.utils import Secret

import rerankit
from haystack_integrations.components.rankers.rerankit import SCORE_KIND_KEY, RerankitRanker
from rerankit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidParameterError,
    InvalidRequestError,
    MissingApiKeyError,
    ProviderTimeoutError,
)

from .conftest import NIM_KEY, NIM_MODEL, QUERY


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("RERANKIT_TEST_NIM_KEY", NIM_KEY)
    return Secret.from_env_var("RERANKIT_TEST_NIM_KEY")


def nim_ranker(nim, key: Secret, **kwargs) -> RerankitRanker:
    return RerankitRanker(model=NIM_MODEL, api_base=nim.url, api_key=key, **kwargs)


def test_best_first_with_scores_and_meta(corpus):
    docs = RerankitRanker(model="local/bm25", top_k=2).run(QUERY, corpus)["documents"]

    assert len(docs) == 2
    assert docs[0].id == "b"
    assert docs[0].score > docs[1].score
    assert docs[0].meta == {"k": 2, SCORE_KIND_KEY: "bm25"}
    assert corpus[1].score is None  # the inputs are not modified
    assert corpus[1].meta == {"k": 2}


def test_run_top_k_overrides_and_none_keeps_all(corpus):
    ranker = RerankitRanker(model="local/bm25", top_k=1)
    assert len(ranker.run(QUERY, corpus, top_k=3)["documents"]) == 3
    everything = RerankitRanker(model="local/bm25", top_k=None).run(QUERY, corpus)["documents"]
    assert sorted(d.id for d in everything) == ["a", "b", "c", "d"]


def test_nim_call_carries_params_and_score_kind(nim, corpus, key_env):
    docs = nim_ranker(nim, key_env, params={"truncate": "END"}).run(QUERY, corpus)["documents"]
    sent = nim.requests[-1].json
    assert sent["truncate"] == "END"
    assert [p["text"] for p in sent["passages"]] == [d.content for d in corpus]
    assert nim.requests[-1].headers["authorization"] == f"Bearer {NIM_KEY}"
    assert docs[0].id == "b"
    assert docs[0].meta[SCORE_KIND_KEY] == "logit"


def test_empty_input_returns_empty_without_a_call(nim, key_env):
    assert nim_ranker(nim, key_env).run(QUERY, []) == {"documents": []}
    assert nim.requests == []


def test_document_without_text_is_a_clear_error_before_any_call(nim, corpus, key_env):
    docs = [*corpus, Document(id="e", content=None)]
    with pytest.raises(InvalidRequestError, match=r"documents\[4\] \(id 'e'\) has no text"):
        nim_ranker(nim, key_env).run(QUERY, docs)
    assert nim.requests == []


def test_meta_fields_to_embed_put_meta_before_the_content(nim, key_env):
    docs = [
        Document(content="Specifications.", meta={"title": "A100 sheet"}),
        Document(content="Specifications.", meta={"title": "H100 sheet", "year": 2022}),
        Document(content="Specifications."),  # no meta: the content alone
    ]
    ranker = nim_ranker(nim, key_env, meta_fields_to_embed=["title", "year"])
    ranked = ranker.run("H100", docs)["documents"]
    assert [p["text"] for p in nim.requests[-1].json["passages"]] == [
        "A100 sheet\nSpecifications.",
        "H100 sheet\n2022\nSpecifications.",
        "Specifications.",
    ]
    assert ranked[0].meta["title"] == "H100 sheet"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "bm25"}, InvalidRequestError, "model"),
        ({"model": "local/bm25", "top_k": 0}, InvalidParameterError, "top_k"),
        ({"model": "local/bm25", "max_retries": -1}, InvalidParameterError, "max_retries"),
        ({"model": "local/bm25", "timeout": 0}, InvalidParameterError, "timeout"),
        ({"model": "local/bm25", "api_key": "nvapi-plain"}, InvalidParameterError, "Secret"),
        ({"model": "local/bm25", "params": {"top_k": 2}}, InvalidParameterError, "params"),
    ],
)
def test_bad_options_are_refused_at_construction(kwargs, error, match):
    with pytest.raises(error, match=match):
        RerankitRanker(**kwargs)


def test_a_key_in_params_is_refused_without_quoting_it():
    with pytest.raises(InvalidParameterError, match=r"params holds \['api_key'\]") as caught:
        RerankitRanker(model="local/bm25", params={"api_key": "nvapi-in-params"})
    assert "nvapi-in-params" not in str(caught.value)


def test_bad_run_top_k_is_refused(corpus):
    with pytest.raises(InvalidParameterError, match="top_k"):
        RerankitRanker(model="local/bm25").run(QUERY, corpus, top_k=0)


def test_unknown_provider_parameter_is_rerankits_typed_error(nim, corpus, key_env):
    with pytest.raises(InvalidParameterError, match="truncation"):
        nim_ranker(nim, key_env, params={"truncation": "END"}).run(QUERY, corpus)


def test_upstream_errors_propagate_typed_and_without_the_key(nim, corpus):
    ranker = nim_ranker(nim, Secret.from_token("nvapi-wrong-key"))
    with pytest.raises(AuthenticationError) as caught:
        ranker.run(QUERY, corpus)
    assert "nvapi-wrong-key" not in str(caught.value)


def test_unset_non_strict_env_key_leaves_it_to_the_provider(corpus, monkeypatch):
    monkeypatch.delenv("RERANKIT_TEST_UNSET", raising=False)
    ranker = RerankitRanker(
        model=NIM_MODEL, api_key=Secret.from_env_var("RERANKIT_TEST_UNSET", strict=False)
    )
    with pytest.raises(MissingApiKeyError, match="NVIDIA_NIM_API_KEY"):
        ranker.run(QUERY, corpus)


def test_fallbacks_and_timeout(nim, corpus, key_env):
    nim.enqueue_faults(["status:500"])
    ranker = nim_ranker(nim, key_env, max_retries=0, fallbacks=["local/bm25"])
    assert ranker.run(QUERY, corpus)["documents"][0].meta[SCORE_KIND_KEY] == "bm25"

    nim.enqueue_faults(["hang"])
    with pytest.raises(ProviderTimeoutError):
        nim_ranker(nim, key_env, timeout=0.3, max_retries=0).run(QUERY, corpus)


def test_given_client_is_used(nim, corpus, key_env):
    with rerankit.Client(max_documents_per_request=2) as client:
        docs = nim_ranker(nim, key_env, client=client).run(QUERY, corpus)["documents"]
    assert len(nim.requests) == 2
    assert docs[0].id == "b"


def test_only_an_async_client_refuses_run(corpus):
    ranker = RerankitRanker(model="local/bm25", async_client=rerankit.AsyncClient())
    with pytest.raises(ConfigurationError, match="run_async"):
        ranker.run(QUERY, corpus)


async def test_run_async_with_a_given_async_client(nim, corpus, key_env):
    async with rerankit.AsyncClient(max_documents_per_request=3) as client:
        ranker = nim_ranker(nim, key_env, async_client=client)
        docs = (await ranker.run_async(QUERY, corpus, top_k=1))["documents"]
    assert len(nim.requests) == 2
    assert [d.id for d in docs] == ["b"]


async def test_run_async_with_only_a_sync_client_uses_it(nim, corpus, key_env):
    with rerankit.Client(max_documents_per_request=1) as client:
        docs = (await nim_ranker(nim, key_env, client=client).run_async(QUERY, corpus))["documents"]
    assert len(nim.requests) == 4
    assert docs[0].id == "b"


async def test_run_async_empty_and_errors(nim, corpus, key_env):
    assert await nim_ranker(nim, key_env).run_async(QUERY, []) == {"documents": []}
    with pytest.raises(InvalidRequestError, match="query"):
        await nim_ranker(nim, key_env).run_async(" ", corpus)
    with pytest.raises(AuthenticationError):
        await nim_ranker(nim, Secret.from_token("nvapi-wrong")).run_async(QUERY, corpus)


def test_to_dict_from_dict_round_trip_keeps_the_secret_as_a_reference(nim, key_env):
    ranker = nim_ranker(
        nim,
        key_env,
        top_k=4,
        params={"truncate": "END"},
        timeout=5.0,
        max_retries=1,
        fallbacks=["local/bm25"],
        meta_fields_to_embed=["title"],
    )
    data = ranker.to_dict()
    assert NIM_KEY not in str(data)
    assert data["init_parameters"]["api_key"] == {
        "type": "env_var",
        "env_vars": ["RERANKIT_TEST_NIM_KEY"],
        "strict": True,
    }
    restored = RerankitRanker.from_dict(data)
    assert restored.to_dict() == data
    assert restored.api_key is not None
    assert restored.api_key.resolve_value() == NIM_KEY


def test_a_token_key_is_never_serialised_in_clear():
    ranker = RerankitRanker(model="local/bm25", api_key=Secret.from_token("nvapi-secret-token"))
    with pytest.raises(ValueError, match="token"):
        ranker.to_dict()
    assert "nvapi-secret-token" not in repr(ranker)
    # (The Secret's own repr redacts the token from Haystack 2.31 on; before, it shows it.)


def test_a_live_client_is_refused_by_to_dict():
    with pytest.raises(ConfigurationError, match="cannot be serialised"):
        RerankitRanker(model="local/bm25", client=rerankit.Client()).to_dict()
