"""Every endpoint of a real proxy (uvicorn subprocess) in front of a fake NIM."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import NIM_KEY
from tests.fakes.nim_server import score
from tests.proxy.conftest import DOCS, MASTER, QUERY, TEAM_KEY


def expected_order(query: str, docs: list[str]) -> list[int]:
    scores = [score(query, d) for d in docs]
    return sorted(range(len(docs)), key=lambda i: (-scores[i], i))


@pytest.mark.parametrize("path", ["/rerank", "/v1/rerank", "/v2/rerank"])
def test_cohere_routes_rank_through_the_upstream(client, nim, path):
    r = client.post(path, json={"model": "nim", "query": QUERY, "documents": DOCS, "top_n": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["index"] for x in body["results"]] == expected_order(QUERY, DOCS)[:2]
    best = body["results"][0]
    assert best["relevance_score"] == pytest.approx(score(QUERY, DOCS[best["index"]]))
    assert body["model"] == "nim"
    assert body["meta"]["provider"] == "nvidia_nim"
    assert body["meta"]["score_kind"] == "logit"
    # the upstream got NIM's wire format with the configured key (from os.environ/...)
    sent = nim.requests[-1]
    assert sent.path == "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    assert sent.headers["authorization"] == f"Bearer {NIM_KEY}"
    assert sent.json["passages"] == [{"text": d} for d in DOCS]
    assert r.headers["x-rerankit-deployment"] == "nim#1"
    assert float(r.headers["x-rerankit-upstream-ms"]) > 0


def test_documents_come_back_by_route_default(client, nim):
    body = {"model": "nim", "query": QUERY, "documents": DOCS}
    native = client.post("/rerank", json=body).json()
    assert all(x["document"] == {"text": DOCS[x["index"]]} for x in native["results"])
    v1 = client.post("/v1/rerank", json=body).json()
    assert all("document" not in x for x in v1["results"])
    v2 = client.post("/v2/rerank", json=body).json()
    assert all("document" not in x for x in v2["results"])
    assert v2["meta"]["api_version"]["version"] == "2"


def test_v1_object_documents_keep_their_fields(client, nim):
    docs = [{"text": d, "source": f"doc-{i}"} for i, d in enumerate(DOCS)]
    r = client.post(
        "/v1/rerank",
        json={"model": "nim", "query": QUERY, "documents": docs, "return_documents": True},
    )
    assert r.status_code == 200, r.text
    for result in r.json()["results"]:
        assert result["document"] == docs[result["index"]]
    assert nim.requests[-1].json["passages"] == [{"text": d} for d in DOCS]


def test_v1_rank_fields_choose_the_text(client, nim):
    docs = [{"title": "H100", "body": "3 TB/s memory bandwidth"}, {"title": "cats"}]
    r = client.post(
        "/v1/rerank",
        json={"model": "nim", "query": "H100", "documents": docs, "rank_fields": ["title", "body"]},
    )
    assert r.status_code == 200, r.text
    assert nim.requests[-1].json["passages"] == [
        {"text": "title: H100\nbody: 3 TB/s memory bandwidth"},
        {"text": "title: cats"},
    ]


def test_provider_parameter_passes_and_is_checked(client, nim):
    r = client.post(
        "/v2/rerank", json={"model": "nim", "query": QUERY, "documents": DOCS, "truncate": "END"}
    )
    assert r.status_code == 200
    assert nim.requests[-1].json["truncate"] == "END"
    bad = client.post(
        "/v2/rerank", json={"model": "nim", "query": QUERY, "documents": DOCS, "truncate": "X"}
    )
    assert bad.status_code == 422
    assert "truncate" in bad.json()["error"]["message"]


def test_nim_style_client_against_ranking(proxy, nim):
    # What a NIM client sends to a self-hosted NIM, pointed at the proxy instead.
    body = {
        "model": "nim",
        "query": {"text": QUERY},
        "passages": [{"text": d} for d in DOCS],
        "truncate": "END",
    }
    r = httpx.post(
        f"{proxy.url}/v1/ranking",
        json=body,
        headers={"Authorization": f"Bearer {TEAM_KEY}", "Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    rankings = r.json()["rankings"]
    assert [x["index"] for x in rankings] == expected_order(QUERY, DOCS)
    assert set(rankings[0]) == {"index", "logit"}
    assert rankings[0]["logit"] == pytest.approx(score(QUERY, DOCS[rankings[0]["index"]]))
    assert nim.requests[-1].json["truncate"] == "END"


def test_ranking_route_serves_a_local_model_too(client):
    r = client.post(
        "/v1/ranking",
        json={
            "model": "bm25",
            "query": {"text": "memory bandwidth"},
            "passages": [{"text": "cats and dogs"}, {"text": "H100 memory bandwidth"}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["rankings"][0]["index"] == 1


def test_models_lists_what_the_key_may_call(proxy, client):
    everything = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert everything == [
        "nim",
        "pair",
        "flaky",
        "broken",
        "doomed",
        "faulty",
        "bm25",
        "retrying",
        "wild/*",
    ]
    team = httpx.get(f"{proxy.url}/models", headers={"Authorization": f"Bearer {TEAM_KEY}"})
    assert [m["id"] for m in team.json()["data"]] == ["nim", "bm25"]
    assert team.json()["object"] == "list"


def test_liveness_and_readiness_need_no_key(proxy):
    live = httpx.get(f"{proxy.url}/health/liveliness")
    assert live.status_code == 200 and live.json() == {"status": "alive"}
    ready = httpx.get(f"{proxy.url}/health/readiness")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_health_checks_each_deployment(client, nim, bad_nim):
    before = len(bad_nim.requests)
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    healthy = {e["id"] for e in body["healthy_endpoints"]}
    unhealthy = {e["id"]: e for e in body["unhealthy_endpoints"]}
    assert {"nim#1", "pair-a", "pair-b", "flaky-good", "bm25#1"} <= healthy
    assert {"flaky-bad", "broken-1", "doomed-1"} <= set(unhealthy)
    assert unhealthy["broken-1"]["http_status"] == 503
    assert len(bad_nim.requests) > before
    assert "api_key" not in r.text and NIM_KEY not in r.text


def test_openapi_document_describes_every_route(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ["/rerank", "/v1/rerank", "/v2/rerank", "/v1/ranking", "/v1/models", "/health"]:
        assert path in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unknown_route_and_wrong_method_are_json_errors(client):
    missing = client.get("/v3/rerank")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"
    wrong = client.get("/v2/rerank")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert set(wrong.json()["error"]) == {"message", "type", "code"}


def test_unknown_model_is_404_naming_it(client):
    r = client.post("/v2/rerank", json={"model": "nope", "query": "q", "documents": ["d"]})
    assert r.status_code == 404
    assert "'nope'" in r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 422, "JSON object"),
        (b'{"query": "q", "documents": ["d"]}', 422, "'model' is required"),
        (b'{"model": "nim", "query": "", "documents": ["d"]}', 422, "query"),
        (b'{"model": "nim", "query": "q", "documents": []}', 422, "documents"),
        (b'{"model": "nim", "query": "q", "documents": [3]}', 422, "documents[0]"),
        (b'{"model": "nim", "query": "q", "documents": ["d"], "top_n": 0}', 422, "top_n"),
        (b'{"model": "nim", "query": "q", "documents": ["d"], "top_n": true}', 422, "top_n"),
        (
            b'{"model": "nim", "query": "q", "documents": ["d"], "max_tokens_per_doc": 5}',
            422,
            "not supported",
        ),
    ],
)
def test_validation_errors(client, body, status, needle):
    r = client.post("/v2/rerank", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert needle in error["message"]
    assert error["type"] == "invalid_request_error"


def test_upstream_bad_request_passes_through_as_400_without_retry(client, spare_nim):
    spare_nim.clear()
    spare_nim.enqueue_faults(["status:400"])
    r = client.post("/v2/rerank", json={"model": "faulty", "query": "q", "documents": ["d"]})
    assert r.status_code == 400, r.text
    assert "HTTP 400" in r.json()["error"]["message"]
    assert len(spare_nim.requests) == 1  # another deployment would refuse it too


def test_provider_parameter_of_a_local_model_is_checked(client):
    r = client.post(
        "/v2/rerank", json={"model": "bm25", "query": "q", "documents": ["d"], "k1": -1}
    )
    assert r.status_code == 422
    assert "k1" in r.json()["error"]["message"]


def test_master_key_header_is_case_insensitive_scheme(proxy):
    r = httpx.post(
        f"{proxy.url}/v2/rerank",
        json={"model": "bm25", "query": "q", "documents": ["q d"]},
        headers={"Authorization": f"bearer {MASTER}"},
    )
    assert r.status_code == 200


def test_openapi_document_is_the_parsers_own_definition(client):
    # generated from the route table and the parser's field definitions: a field the
    # document marks required is refused when missing, an optional one is not needed,
    # a field the document does not list is refused, and the configured limits show
    doc = client.get("/openapi.json").json()
    from rerankit_proxy.endpoints import ROUTES

    assert set(doc["paths"]) == set(ROUTES)
    schemas = doc["components"]["schemas"]
    valid = {
        "/v2/rerank": {"model": "bm25", "query": "memory", "documents": ["cats", "memory"]},
        "/v1/ranking": {
            "model": "bm25",
            "query": {"text": "memory"},
            "passages": [{"text": "cats"}, {"text": "memory"}],
        },
    }
    for path, name in [("/v2/rerank", "RerankRequest"), ("/v1/ranking", "RankingRequest")]:
        schema = schemas[name]
        assert doc["paths"][path]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ] == {"$ref": f"#/components/schemas/{name}"}
        assert client.post(path, json=valid[path]).status_code == 200
        for field in schema["required"]:
            body = {k: v for k, v in valid[path].items() if k != field}
            assert client.post(path, json=body).status_code == 422, field
        unlisted = client.post(path, json={**valid[path], "no_such_field": 1})
        assert unlisted.status_code == 422
    rerank = schemas["RerankRequest"]["properties"]
    assert set(rerank) == {
        "model",
        "query",
        "documents",
        "top_n",
        "return_documents",
        "rank_fields",
        "params",
        "metadata",
        "user",
        "max_tokens_per_doc",
        "max_chunks_per_doc",
        "priority",
    }
    assert rerank["documents"]["maxItems"] == 40  # the test config's limits.max_documents
