"""The cache key: what changes it, what does not, and that it is canonical."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from rerankit.lifecycle import CallContext
from rerankit_cache import KEY_PREFIX, cache_key, canonical_request


def call(**changes) -> CallContext:
    base = CallContext(
        model="nvidia_nim/nvidia/m",
        prefix="nvidia_nim",
        provider="Nvidia NIM",
        provider_model="nvidia/m",
        query="gpu memory",
        documents=("H100", "A100"),
        params={"truncate": "END", "a": 1},
        top_n=None,
        return_documents=True,
        api_base="http://127.0.0.1:9/v1",
        score_kind="logit",
        is_async=False,
    )
    return dataclasses.replace(base, **changes)


def test_key_is_the_prefix_and_a_sha256_of_the_canonical_request():
    key = cache_key(call())
    assert key == KEY_PREFIX + hashlib.sha256(canonical_request(call())).hexdigest()
    assert KEY_PREFIX == "rerankit:cache:v1:"
    assert cache_key(call(), "tenant-a:").startswith("tenant-a:rerankit:cache:v1:")


def test_canonical_encoding_is_versioned_sorted_and_compact():
    text = canonical_request(call(query="é")).decode()
    assert text == (
        '[1,"nvidia_nim","nvidia/m","http://127.0.0.1:9/v1","é",["H100","A100"],'
        '{"a":1,"truncate":"END"}]'
    )


@pytest.mark.parametrize(
    "change",
    [
        {"top_n": 1},
        {"return_documents": False},
        {"is_async": True},
        {"model": "alias/other-spelling"},  # the resolved prefix and model are what count
        {"params": {"a": 1, "truncate": "END"}},  # order of parameters
    ],
)
def test_what_does_not_change_the_answer_does_not_change_the_key(change):
    assert cache_key(call(**change)) == cache_key(call())


@pytest.mark.parametrize(
    "change",
    [
        {"prefix": "cohere"},
        {"provider_model": "nvidia/other"},
        {"api_base": "http://127.0.0.1:10/v1"},
        {"api_base": None},
        {"query": "gpu  memory"},
        {"documents": ("A100", "H100")},  # order matters: indices point into it
        {"documents": ("H100", "A100", "")},
        {"documents": ("H100A100",)},  # no ambiguity from joining
        {"params": {"truncate": "NONE", "a": 1}},
        {"params": {"truncate": "END", "a": 1.0}},  # 1 and 1.0 may differ to a provider
        {"params": {"truncate": "END"}},
    ],
)
def test_any_change_to_what_was_asked_changes_the_key(change):
    assert cache_key(call(**change)) != cache_key(call())


def test_documents_as_a_list_or_a_tuple_key_the_same():
    assert cache_key(call(documents=["H100", "A100"])) == cache_key(call())


def test_a_parameter_json_cannot_encode_raises():
    with pytest.raises(TypeError):
        cache_key(call(params={"x": object()}))
    with pytest.raises(ValueError, match="JSON compliant"):
        cache_key(call(params={"x": float("nan")}))


def test_lone_surrogates_still_key():
    assert cache_key(call(query="\ud800")) != cache_key(call(query="\ud801"))


def test_canonical_request_is_valid_json():
    assert json.loads(canonical_request(call()))[0] == 1
