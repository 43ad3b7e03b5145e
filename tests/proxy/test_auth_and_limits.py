"""Keys, permissions, rate limits, request limits and request forgery, on a real proxy."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import NIM_KEY
from tests.proxy.conftest import ALL_KEYS, DOCS, LIMITED_KEY, MASTER, QUERY, TEAM_KEY

RERANK = {"model": "bm25", "query": "memory bandwidth", "documents": ["H100 memory bandwidth"]}


def call(proxy, method, path, key, body=None):
    headers = {} if key is None else {"Authorization": key}
    return httpx.request(method, f"{proxy.url}{path}", json=body, headers=headers, timeout=10)


# route -> (method, body, status for: no key, wrong key, team key, master key)
MATRIX = {
    "/v2/rerank": ("POST", RERANK, (401, 401, 200, 200)),
    "/v1/rerank": ("POST", RERANK, (401, 401, 200, 200)),
    "/rerank": ("POST", RERANK, (401, 401, 200, 200)),
    "/v1/ranking": (
        "POST",
        {"model": "bm25", "query": {"text": "q"}, "passages": [{"text": "q"}]},
        (401, 401, 200, 200),
    ),
    "/v1/models": ("GET", None, (401, 401, 200, 200)),
    "/models": ("GET", None, (401, 401, 200, 200)),
    "/openapi.json": ("GET", None, (401, 401, 200, 200)),
    "/metrics": ("GET", None, (401, 401, 403, 200)),
    "/health": ("GET", None, (401, 401, 403, 200)),
    "/health/liveliness": ("GET", None, (200, 200, 200, 200)),
    "/health/readiness": ("GET", None, (200, 200, 200, 200)),
}


@pytest.mark.parametrize("path", list(MATRIX))
def test_auth_matrix(proxy, path):
    method, body, expected = MATRIX[path]
    keys = [None, "Bearer sk-wrong-key-000000", f"Bearer {TEAM_KEY}", f"Bearer {MASTER}"]
    got = tuple(call(proxy, method, path, key, body).status_code for key in keys)
    assert got == expected


@pytest.mark.parametrize(
    "header",
    [
        f"Basic {MASTER}",
        f"Bearer {MASTER[:-1]}",
        f"Bearer {MASTER}x",
        "Bearer",
        f"{MASTER}",
        f"Bearer {NIM_KEY}",  # the upstream's key is no proxy key
    ],
)
def test_near_miss_keys_are_refused(proxy, header):
    r = call(proxy, "POST", "/v2/rerank", header, RERANK)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["type"] == "authentication_error"


def test_key_may_not_call_other_models(proxy, nim):
    before = len(nim.requests)
    r = call(proxy, "POST", "/v2/rerank", f"Bearer {TEAM_KEY}", {**RERANK, "model": "pair"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "model_not_allowed"
    # an unknown model looks the same to a restricted key: no probing for names
    r = call(proxy, "POST", "/v2/rerank", f"Bearer {TEAM_KEY}", {**RERANK, "model": "secret"})
    assert r.status_code == 403
    assert len(nim.requests) == before


def test_key_rate_limit_answers_429_with_retry_after(proxy):
    statuses = [
        call(proxy, "POST", "/v2/rerank", f"Bearer {LIMITED_KEY}", RERANK).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    r = call(proxy, "POST", "/v2/rerank", f"Bearer {LIMITED_KEY}", RERANK)
    assert r.json()["error"]["code"] == "key_rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    # other keys are not affected
    assert call(proxy, "POST", "/v2/rerank", f"Bearer {TEAM_KEY}", RERANK).status_code == 200


def test_body_size_limit_is_413(client):
    big = {"model": "bm25", "query": "q", "documents": ["x" * 1500] * 50}
    r = client.post("/v2/rerank", json=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"
    assert "65536" in r.json()["error"]["message"]


def test_body_size_limit_holds_without_content_length(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    r = client.post("/v2/rerank", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"documents": ["d"] * 41}, "too_many_documents"),
        ({"query": "q" * 301}, "query_too_long"),
        ({"documents": ["d", "x" * 2001]}, "document_too_long"),
    ],
)
def test_request_limits_are_400_naming_the_limit(client, body, code):
    r = client.post("/v2/rerank", json={"model": "bm25", "query": "q", "documents": ["d"], **body})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code


def test_request_deadline_is_504(client, spare_nim):
    spare_nim.clear()
    spare_nim.enqueue_faults(["slow:4"])
    r = client.post("/v2/rerank", json={"model": "faulty", "query": "q", "documents": ["d"]})
    assert r.status_code == 504
    assert r.json()["error"]["code"] == "request_timeout"
    spare_nim.clear()


FORGERIES = [
    {"api_base": "http://127.0.0.1:9/steal"},
    {"api_key": "sk-other"},
    {"base_url": "http://169.254.169.254/latest/meta-data"},
    {"params": {"api_base": "http://127.0.0.1:9/"}},
    {"params": {"timeout": 0.001}},
    {"extra_headers": {"Authorization": "Bearer x"}},
    {"model": "nim", "url": "http://127.0.0.1:9"},
]


@pytest.mark.parametrize("extra", FORGERIES)
def test_callers_cannot_choose_the_upstream(client, nim, canary, extra):
    nim.clear()
    body = {"model": "nim", "query": QUERY, "documents": DOCS, **extra}
    for path in ("/v2/rerank", "/v1/rerank", "/rerank"):
        r = client.post(path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "unknown_field"
    nim_body = {"model": "nim", "query": {"text": QUERY}, "passages": [{"text": "d"}], **extra}
    assert client.post("/v1/ranking", json=nim_body).status_code == 422
    assert nim.requests == []
    assert canary.requests == []


def test_model_path_cannot_escape_into_the_url(client, nim):
    nim.clear()
    for model in ("wild/../../v1/models", "wild/nvidia/..%2f..%2fx", "wild/a/b/c/d"):
        r = client.post("/v2/rerank", json={"model": model, "query": "q", "documents": ["d"]})
        assert r.status_code == 400, (model, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    assert nim.requests == []
    ok = client.post(
        "/v2/rerank",
        json={"model": "wild/nvidia/llama-3_2-nv-rerankqa-1b-v2", "query": "q", "documents": ["d"]},
    )
    assert ok.status_code == 200, ok.text
    assert nim.requests[-1].path == "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    assert ok.headers["x-rerankit-deployment"] == "wild/*#1"


def test_keys_and_documents_never_reach_the_log(proxy, client):
    secret_doc = "TOP-SECRET-DOCUMENT-TEXT"
    client.post("/v2/rerank", json={"model": "bm25", "query": "q", "documents": [secret_doc]})
    call(proxy, "GET", "/v1/models", "Bearer sk-guessed-key-123456")
    log = proxy.log()
    assert "POST /v2/rerank model=bm25 status=200" in log
    assert "key=master" in log
    for secret in (*ALL_KEYS, "sk-guessed-key-123456", secret_doc):
        assert secret not in log
    assert secret not in proxy.stdout()


def test_a_path_cannot_forge_log_lines(proxy, client):
    client.get("/x%0A2026-01-01 INFO rerankit.proxy.access POST /v2/rerank status=200 key=admin")
    # The access line is written after the answer is sent: wait for it (a bound, no timing).
    deadline = time.monotonic() + 10
    while "key=admin" not in proxy.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    log = proxy.log()
    assert "key=admin" in log  # the attempt is logged, on the same line as its own entry
    forged = [line for line in log.splitlines() if line.startswith("2026-01-01 INFO")]
    assert forged == []
