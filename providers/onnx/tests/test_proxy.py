"""An `onnx` model group behind the proxy: configured by directory, normalised to
probabilities by the group's `normalize`, answered off the proxy's event loop."""

from __future__ import annotations

import math

import httpx
import pytest

from rerankit_proxy import create_app, parse_config

MASTER = "sk-master-onnx-test-01"
QUERY = "red fruit"
DOCS = ["green apple", "red cherry", "paris is the capital of france"]


async def test_group_answers_sigmoid_of_the_models_logits(tiny, direct):
    config = parse_config(
        {
            "model_list": [
                {
                    "model_name": "minilm",
                    "params": {
                        "model": f"onnx/{tiny.bert}",
                        "normalize": "sigmoid",
                        "batch_size": 2,
                    },
                }
            ],
            "general_settings": {"master_key": MASTER},
        },
        source="test.yaml",
    )
    app = create_app(config)
    await app.startup()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://proxy"
        ) as client:
            answer = await client.post(
                "/v2/rerank",
                json={"model": "minilm", "query": QUERY, "documents": DOCS},
                headers={"Authorization": f"Bearer {MASTER}"},
            )
    finally:
        await app.shutdown()
    assert answer.status_code == 200, answer.text
    logits = direct(tiny.bert, QUERY, DOCS)
    expected = sorted(
        ((i, 1 / (1 + math.exp(-x))) for i, x in enumerate(logits)), key=lambda p: -p[1]
    )
    results = answer.json()["results"]
    assert [r["index"] for r in results] == [i for i, _ in expected]
    assert [r["relevance_score"] for r in results] == pytest.approx(
        [p for _, p in expected], abs=1e-6
    )
