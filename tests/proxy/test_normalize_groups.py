"""A model group's `normalize` setting: checked at start-up, applied to every answer, and a
start-up warning when a fallback chain mixes score kinds."""

from __future__ import annotations

import logging

import httpx
import pytest

from rerankit_proxy import create_app, parse_config
from rerankit_proxy.config import ProxyConfigError

MASTER = "sk-master-normalize-01"


def config(*models: dict, fallbacks: list | None = None):
    data = {"model_list": list(models), "general_settings": {"master_key": MASTER}}
    if fallbacks is not None:
        data["router_settings"] = {"fallbacks": fallbacks}
    return parse_config(data, source="test.yaml")


def bm25(name: str, **params) -> dict:
    return {"model_name": name, "params": {"model": "local/bm25", **params}}


def tei(name: str, **params) -> dict:
    return {
        "model_name": name,
        "params": {"model": "tei/reranker", "api_base": "http://127.0.0.1:9", **params},
    }


async def test_group_normalize_applies_to_its_answers():
    app = create_app(config(bm25("scaled", normalize="minmax", k1=1.2), bm25("raw")))
    await app.startup()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://proxy"
        ) as client:
            body = {
                "query": "red fruit",
                "documents": ["green apple", "red cherry", "red fruit salad"],
            }
            headers = {"Authorization": f"Bearer {MASTER}"}
            scaled = await client.post(
                "/v2/rerank", json={**body, "model": "scaled"}, headers=headers
            )
            raw = await client.post("/v2/rerank", json={**body, "model": "raw"}, headers=headers)
    finally:
        await app.shutdown()
    assert scaled.status_code == 200, scaled.text
    scores = [r["relevance_score"] for r in scaled.json()["results"]]
    assert scores[0] == 1.0 and scores[-1] == 0.0
    raw_scores = [r["relevance_score"] for r in raw.json()["results"]]
    assert raw_scores[0] > 1.0  # BM25, as the provider gave it
    assert [r["index"] for r in scaled.json()["results"]] == [
        r["index"] for r in raw.json()["results"]
    ]


def test_group_normalize_is_kept_as_a_call_setting():
    loaded = config(bm25("scaled", normalize="sigmoid"))
    assert loaded.deployments[0].params == {"normalize": "sigmoid"}


def test_unknown_normalize_names_the_field():
    with pytest.raises(ProxyConfigError) as caught:
        config(bm25("scaled", normalize="softmax"))
    message = str(caught.value)
    assert "model_list[0].params.normalize" in message
    assert "normalize must be one of None, 'sigmoid', 'minmax'" in message


def test_fallbacks_mixing_score_kinds_warn_at_startup(caplog):
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        config(tei("tei"), bm25("bm25"), fallbacks=[{"tei": ["bm25"]}])
    [record] = [r for r in caplog.records if "mix score kinds" in r.getMessage()]
    assert "tei: probability, bm25: bm25" in record.getMessage()


def test_fallbacks_on_one_scale_do_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        config(
            tei("tei", normalize="minmax"),
            bm25("bm25", normalize="minmax"),
            fallbacks=[{"tei": ["bm25"]}],
        )
    assert not [r for r in caplog.records if "mix score kinds" in r.getMessage()]
