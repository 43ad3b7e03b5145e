"""`rerankit.rerank` / `arerank` take exactly `Client.rerank`'s arguments, typed the same."""

from __future__ import annotations

import inspect
import typing
import warnings

import pytest

import rerankit
from rerankit import AsyncClient, Client
from rerankit.types import RerankMeta, RerankResponse


def _parameters(function: object, *, bound: bool) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())  # type: ignore[arg-type]
    return parameters[1:] if bound else parameters  # without `self`


@pytest.mark.parametrize(
    ("function", "method"),
    [(rerankit.rerank, Client.rerank), (rerankit.arerank, AsyncClient.rerank)],
)
def test_module_function_signature_is_the_clients(function, method):
    ours, theirs = _parameters(function, bound=False), _parameters(method, bound=True)
    assert ours == theirs  # names, kinds, defaults and annotations
    assert (
        inspect.signature(function).return_annotation == inspect.signature(method).return_annotation
    )
    named = [p.name for p in ours if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert {"top_n", "timeout", "fallbacks", "normalize", "drop_params"} <= set(named)
    # Only provider parameters are left to **params (they differ per provider).
    assert [p.name for p in ours if p.kind is inspect.Parameter.VAR_KEYWORD] == ["params"]


def test_module_function_annotations_resolve_for_type_checkers_and_editors():
    hints = typing.get_type_hints(rerankit.rerank)
    assert hints["top_n"] == int | None and hints["return"] is RerankResponse


def test_module_function_passes_every_option_through():
    response = rerankit.rerank(
        "local/bm25", "alpha", ["beta", "alpha alpha", "gamma"], top_n=1, return_documents=False
    )
    assert [r.index for r in response.results] == [1] and response.results[0].document is None


def test_response_meta_is_always_set():
    assert typing.get_type_hints(RerankResponse)["meta"] is RerankMeta
    assert RerankResponse.model_fields["meta"].is_required()
    response = rerankit.rerank("local/bm25", "alpha", ["alpha", "beta"])
    assert response.meta.provider == "local"


def test_the_private_client_module_no_longer_re_exports_async_client():
    import rerankit._client as module

    assert "AsyncClient" not in module.__all__ and "AsyncClient" not in vars(module)
    assert rerankit.AsyncClient.__module__ == "rerankit._async_client"


def test_dead_names_are_gone():
    import rerankit._pipeline
    import rerankit.registry

    assert not hasattr(rerankit.registry, "reset_default_registry")
    assert not hasattr(rerankit._pipeline.Prepared, "http")


def test_ranking_model_is_deprecated_and_pointed_at_the_caller():
    from rerankit import Ranking

    with pytest.warns(DeprecationWarning, match=r"Ranking\(model=\.\.\.\) is deprecated") as seen:
        Ranking([(0, 1.0)], model="m")
    assert seen[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Ranking([(0, 1.0)], id="x")  # without it: no warning


def test_rerank_request_is_deprecated_and_pointed_at_the_caller():
    with pytest.warns(DeprecationWarning, match="RerankRequest is deprecated") as seen:
        rerankit.RerankRequest(model="local/bm25", query="q", documents=["a"])
    assert seen[0].filename == __file__
