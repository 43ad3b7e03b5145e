"""The fake NIM itself: it must behave like the real service where the tests rely on it."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.nim_server import FakeNimServer, score

BODY = {
    "model": "nvidia/x",
    "query": {"text": "gpu memory"},
    "passages": [{"text": "cpu"}, {"text": "gpu memory"}],
}


@pytest.fixture(scope="module")
def server():
    with FakeNimServer(api_key="k", max_passages=4) as s:
        yield s


def post(server, body, path="/v1/ranking", key="k", **headers):
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(server.url + path, json=body, headers={**auth, **headers}, timeout=5)


def test_ranks_by_score_best_first(server):
    answer = post(server, BODY).json()
    assert [r["index"] for r in answer["rankings"]] == [1, 0]
    assert answer["rankings"][0]["logit"] == score("gpu memory", "gpu memory")


def test_validates_like_nim(server):
    assert post(server, {**BODY, "top_k": 1}).json()["detail"].startswith("top_k: unknown field")
    assert post(server, {**BODY, "truncate": "START"}).status_code == 422
    many = {**BODY, "passages": [{"text": "p"}] * 5}
    assert post(server, many).status_code == 400
    assert post(server, BODY, key=None).status_code == 401
    assert post(server, BODY, path="/v1/other").status_code == 404
    assert httpx.get(server.url + "/v1/models").json()["data"][0]["id"]


def test_keep_alive_reuses_one_connection(server):
    before = server.connections_opened
    with httpx.Client(headers={"Authorization": "Bearer k"}) as client:
        for _ in range(3):
            client.post(server.url + "/v1/ranking", json=BODY)
    assert server.connections_opened - before == 1


def test_fault_modes(server):
    assert post(server, BODY, **{"X-Fake-Fault": "status:503"}).status_code == 503
    assert post(server, BODY, **{"X-Fake-Fault": "429:3"}).headers["retry-after"] == "3"
    assert isinstance(post(server, BODY, **{"X-Fake-Fault": "bare-list"}).json(), list)
    with pytest.raises(httpx.TransportError):
        post(server, BODY, **{"X-Fake-Fault": "reset"})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            server.url + "/v1/ranking",
            json=BODY,
            timeout=0.3,
            headers={"Authorization": "Bearer k", "X-Fake-Fault": "hang"},
        )
    server.enqueue_faults(["fewer"])
    assert len(post(server, BODY).json()["rankings"]) == 1
    assert len(post(server, BODY).json()["rankings"]) == 2
