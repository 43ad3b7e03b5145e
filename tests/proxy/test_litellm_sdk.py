"""The LiteLLM SDK's `litellm.rerank(model="cohere/...", api_base=proxy)`, unchanged.

litellm is large (about 140 MB installed, with openai, tokenizers and tiktoken), so it is
not in the dev group: `.ci/run` runs this module with `uv run --with litellm`, and a plain
`pytest` skips it. Its model cost map is read from the installed package, not the network.
"""

from __future__ import annotations

import os

import pytest

from tests.proxy.conftest import MASTER, TEAM_KEY

# Before the import: litellm otherwise fetches its cost map from GitHub when imported.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm", reason="run by .ci/run with `uv run --with litellm`")

DOCS = ["cats and dogs", "H100 memory bandwidth", "memory of a goldfish"]


def test_litellm_rerank_through_the_proxy(proxy):
    response = litellm.rerank(
        model="cohere/bm25",
        query="H100 memory bandwidth",
        documents=DOCS,
        top_n=2,
        api_base=proxy.url,
        api_key=MASTER,
    )
    assert [r["index"] for r in response.results] == [1, 2]
    assert response.results[0]["relevance_score"] > response.results[1]["relevance_score"]


def test_litellm_sees_the_proxys_refusal(proxy):
    # team-a may not call "pair": the proxy's 403 reaches the caller as litellm's error
    with pytest.raises(litellm.PermissionDeniedError) as raised:
        litellm.rerank(
            model="cohere/pair", query="q", documents=["d"], api_base=proxy.url, api_key=TEAM_KEY
        )
    assert raised.value.status_code == 403
    assert "model_not_allowed" in str(raised.value)


def test_litellm_reaches_a_nim_deployment_through_the_proxy(proxy, nim):
    response = litellm.rerank(
        model="cohere/nim",
        query="memory bandwidth",
        documents=DOCS,
        api_base=proxy.url,
        api_key=TEAM_KEY,
    )
    assert len(response.results) == 3 and response.results[0]["index"] == 1
    assert nim.requests[-1].json["passages"] == [{"text": d} for d in DOCS]
