"""The proxy with rerankit-cache: the `cache:` section and the gateway's shape, /metrics."""

from __future__ import annotations

import sys

import httpx
import pytest

from rerankit_proxy.config import ProxyConfigError
from rerankit_proxy.config_reader import parse_config
from tests.fakes.nim_server import FakeNimServer
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL, ProxyProcess
from tests.proxy.test_metrics import sample

BODY = {"model": "m", "query": "memory bandwidth", "documents": ["H100 memory bandwidth", "cats"]}


def config(nim: FakeNimServer, **extra: object) -> dict[str, object]:
    return {
        "model_list": [
            {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url}}
        ],
        "general_settings": {"master_key": MASTER},
        **extra,
    }


@pytest.mark.parametrize(
    "section",
    [
        {"cache": {"url": "memory://", "ttl": 60}},
        {"litellm_settings": {"cache": True, "cache_params": {"type": "local", "ttl": 60}}},
    ],
    ids=["native", "gateway"],
)
def test_a_repeated_request_is_answered_from_the_cache(tmp_path, section):
    with FakeNimServer() as nim:
        process = ProxyProcess(
            tmp_path, config(nim, **section), env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"}
        )
        try:
            process.wait_ready()
            headers = {"Authorization": f"Bearer {MASTER}"}
            with httpx.Client(base_url=process.url, headers=headers, timeout=10) as client:
                first = client.post("/v2/rerank", json=BODY)
                second = client.post("/v2/rerank", json={**BODY, "top_n": 1})
                metrics = client.get("/metrics").text
            assert first.status_code == second.status_code == 200, second.text
            assert "cached" not in first.json()["meta"]
            assert second.json()["meta"]["cached"] is True
            assert [r["index"] for r in second.json()["results"]] == [0]  # top_n after lookup
            assert len(nim.requests) == 1
            assert sample(metrics, "rerankit_proxy_cache_total", result="hits") == 1
            assert sample(metrics, "rerankit_proxy_cache_total", result="stores") == 1
        finally:
            process.stop()


def test_a_bad_cache_section_stops_start_up_naming_it():
    with FakeNimServer() as nim, pytest.raises(ProxyConfigError, match=r"cache: .*nosuch"):
        parse_config(config(nim, cache={"url": "nosuch://x"}), source="c.yaml")


def test_a_cache_without_rerankit_cache_installed_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rerankit_cache", None)  # import fails
    with FakeNimServer() as nim, pytest.raises(ProxyConfigError, match="pip install"):
        parse_config(config(nim, cache={"url": "memory://"}), source="c.yaml")
