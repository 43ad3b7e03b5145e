"""`x-request-id`: echoed when sane, else generated; on every answer, in the access line and
on every upstream attempt. The real proxy in front of fake NIMs that record headers."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.fakes.nim_server import FakeNimServer
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL, ProxyProcess

BODY = {"model": "nim", "query": "gpu memory", "documents": ["gpu memory", "cats"]}
GENERATED = re.compile(r"[0-9a-f]{24}")


def test_a_callers_id_is_echoed_logged_and_sent_upstream(client, proxy, nim):
    r = client.post("/v2/rerank", json=BODY, headers={"x-request-id": "trace-abc_123:x/y=z"})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "trace-abc_123:x/y=z"
    assert nim.requests[-1].headers["x-request-id"] == "trace-abc_123:x/y=z"
    access = [line for line in proxy.log().splitlines() if "request_id=trace-abc_123" in line]
    assert len(access) == 1
    assert "rerankit.proxy.access POST /v2/rerank model=nim status=200" in access[0]


def test_without_one_an_id_is_generated_for_each_request(client, nim):
    first = client.post("/v2/rerank", json=BODY)
    second = client.post("/v2/rerank", json=BODY)
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert ids[0] != ids[1]
    assert [r.headers["x-request-id"] for r in nim.requests[-2:]] == ids


@pytest.mark.parametrize(
    "given",
    [
        "x" * 129,  # longer than the limit
        "has space",
        "semi;colon",
        'quote"d',
        "ünïcode",
        "",
    ],
)
def test_an_unfit_id_is_replaced(client, nim, given):
    r = client.post("/v2/rerank", json=BODY, headers={"x-request-id": given.encode("utf-8")})
    assert r.status_code == 200
    assert GENERATED.fullmatch(r.headers["x-request-id"])
    assert nim.requests[-1].headers["x-request-id"] == r.headers["x-request-id"]


def test_the_longest_accepted_id_is_kept(client):
    given = "a" * 128
    r = client.get("/v1/models", headers={"x-request-id": given})
    assert r.headers["x-request-id"] == given


def test_two_different_ids_in_one_request_are_both_replaced(proxy):
    headers = [
        ("authorization", f"Bearer {MASTER}"),
        ("x-request-id", "one"),
        ("x-request-id", "two"),
    ]
    r = httpx.get(f"{proxy.url}/v1/models", headers=headers)
    assert GENERATED.fullmatch(r.headers["x-request-id"])


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/v2/rerank", {}, 401),  # no key
        ("GET", "/nowhere", {"authorization": f"Bearer {MASTER}"}, 404),
        ("DELETE", "/v2/rerank", {"authorization": f"Bearer {MASTER}"}, 405),
        ("GET", "/health/liveliness", {}, 200),
    ],
)
def test_every_answer_carries_it(proxy, method, path, headers, status):
    r = httpx.request(method, f"{proxy.url}{path}", headers={**headers, "x-request-id": "e-1"})
    assert r.status_code == status
    assert r.headers["x-request-id"] == "e-1"


def test_an_upstream_failure_answer_carries_it(client):
    r = client.post("/v2/rerank", json={**BODY, "model": "doomed"}, headers={"x-request-id": "d-1"})
    assert r.status_code in (502, 503), r.text
    assert r.headers["x-request-id"] == "d-1"


def test_every_upstream_attempt_carries_the_same_id(tmp_path):
    """Retries of one request (the first attempts fail with 503) all send its id."""
    with FakeNimServer() as upstream:
        params = {"model": SELF_HOSTED_MODEL, "api_base": upstream.url}
        config = {
            "model_list": [{"model_name": "m", "params": params}],
            "general_settings": {"master_key": MASTER},
            "router_settings": {"num_retries": 2, "retry_backoff": 0.001},
        }
        process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"})
        try:
            process.wait_ready()
            upstream.enqueue_faults(["status:503", "status:503"])
            r = httpx.post(
                f"{process.url}/v2/rerank",
                json={"model": "m", "query": "q", "documents": ["q", "r"]},
                headers={"Authorization": f"Bearer {MASTER}", "x-request-id": "retried-1"},
            )
            assert r.status_code == 200, r.text
            posts = [q for q in upstream.requests if q.method == "POST"]
            assert len(posts) == 3
            assert [q.headers["x-request-id"] for q in posts] == ["retried-1"] * 3
        finally:
            process.stop()
