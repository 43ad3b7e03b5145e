"""`GET /metrics`: Prometheus text with requests, errors, latency and upstream attempts."""

from __future__ import annotations

import re

from tests.proxy.conftest import TEAM_KEY


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the series `name{labels...}` (labels matched as a subset)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_errors_attempts_and_latency(client, proxy):
    before = client.get("/metrics").text
    for _ in range(3):
        client.post("/v2/rerank", json={"model": "bm25", "query": "q", "documents": ["q"]})
    client.post("/v2/rerank", json={"model": "bm25", "query": "", "documents": ["q"]})
    client.post("/v2/rerank", json={"model": "broken", "query": "q", "documents": ["q"]})
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text

    def grew(name: str, **labels: str) -> float:
        return sample(text, name, **labels) - sample(before, name, **labels)

    ok = {"route": "v2_rerank", "model": "bm25"}
    assert grew("rerankit_proxy_requests_total", **ok, status="200") == 3
    assert grew("rerankit_proxy_requests_total", **ok, status="422") == 1
    assert grew("rerankit_proxy_errors_total", **ok, type="invalid_request_error") == 1
    assert grew("rerankit_proxy_request_duration_seconds_count", **ok) == 4
    assert grew("rerankit_proxy_request_duration_seconds_bucket", **ok, le="+Inf") == 4
    assert "# TYPE rerankit_proxy_request_duration_seconds histogram" in text
    assert (
        grew(
            "rerankit_proxy_upstream_attempts_total",
            model="bm25",
            deployment="bm25#1",
            outcome="ok",
        )
        >= 3
    )
    assert grew("rerankit_proxy_fallbacks_total", model="broken", fallback="bm25") == 1
    # the failed upstream attempts of a failing deployment, by outcome
    assert (
        sample(
            text, "rerankit_proxy_upstream_attempts_total", model="broken", outcome="server_error"
        )
        >= 1
    )
    # The only deployment of its group is never ejected (the panic rule): no cool-down.
    assert sample(text, "rerankit_proxy_deployment_cooldowns_total", deployment="broken-1") == 0
    assert "rerankit_proxy_upstream_duration_seconds_bucket" in text


def test_caller_chosen_names_never_become_labels(client):
    client.post("/v2/rerank", json={"model": "made-up-model-xyz", "query": "q", "documents": ["d"]})
    client.get("/no/such/path/abc")
    text = client.get("/metrics").text
    assert "made-up-model-xyz" not in text
    assert "/no/such/path/abc" not in text
    assert 'route="unknown"' in text


def test_metrics_need_the_master_key(proxy):
    import httpx

    r = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {TEAM_KEY}"})
    assert r.status_code == 403
