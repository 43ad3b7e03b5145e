"""`GET /metrics` without a key, for in-cluster scrapers: off by default, on by
`general_settings.metrics_auth: false` or `--metrics-no-auth`, warned about off loopback."""

from __future__ import annotations

import httpx
import pytest

from rerankit_proxy import ProxyConfigError, parse_config
from tests.proxy.conftest import MASTER, ProxyProcess

BODY = {"model": "bm25", "query": "memory", "documents": ["cats", "memory"]}


def config(**general: object) -> dict:
    return {
        "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}],
        "general_settings": {"master_key": MASTER, **general},
    }


def test_metrics_need_the_master_key_by_default(proxy):
    assert httpx.get(f"{proxy.url}/metrics").status_code == 401
    auth = {"Authorization": f"Bearer {MASTER}"}
    paths = httpx.get(f"{proxy.url}/openapi.json", headers=auth).json()["paths"]
    assert paths["/metrics"]["get"].get("security") != []
    r = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {MASTER}"})
    assert r.status_code == 200
    assert "rerankit_proxy_requests_total" in r.text


def test_metrics_auth_false_opens_metrics_only(tmp_path):
    process = ProxyProcess(
        tmp_path, config(metrics_auth=False), env={"RERANKIT_LOAD_PLUGINS": "local,proxy"}
    )
    try:
        process.wait_ready()
        r = httpx.get(f"{process.url}/metrics")
        assert r.status_code == 200
        assert "rerankit_proxy_requests_total" in r.text
        # nothing else opens with it
        assert httpx.post(f"{process.url}/v2/rerank", json=BODY).status_code == 401
        assert httpx.get(f"{process.url}/health").status_code == 401
        # and the OpenAPI document says so: /metrics without security, the rest unchanged
        auth = {"Authorization": f"Bearer {MASTER}"}
        paths = httpx.get(f"{process.url}/openapi.json", headers=auth).json()["paths"]
        assert paths["/metrics"]["get"]["security"] == []
        assert "security" not in paths["/v2/rerank"]["post"]  # the document's default: bearer
    finally:
        process.stop()
    assert "GET /metrics needs no key" not in process.log()  # loopback: no warning


def test_the_flag_opens_metrics_and_warns_off_loopback(tmp_path):
    process = ProxyProcess(
        tmp_path,
        config(),
        env={"RERANKIT_LOAD_PLUGINS": "local,proxy"},
        args=("--metrics-no-auth", "--host", "0.0.0.0", "--workers", "2"),
    )
    try:
        process.wait_ready(timeout=40)
        for _ in range(4):  # new connections: both workers serve it without a key
            assert httpx.get(f"{process.url}/metrics").status_code == 200
        assert httpx.post(f"{process.url}/v2/rerank", json=BODY).status_code == 401
    finally:
        process.stop()
    assert "GET /metrics needs no key" in process.log()
    assert "listens on 0.0.0.0" in process.log()


def test_metrics_auth_must_be_a_boolean():
    with pytest.raises(ProxyConfigError, match=r"general_settings.metrics_auth: must be true or"):
        parse_config(config(metrics_auth="no"), source="c.yaml")
