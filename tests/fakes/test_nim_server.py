"""The fake NIM itself: routes, validation, auth, scoring, recording and every fault mode."""

from __future__ import annotations

import email.utils
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.nim_server import FAULT_MODES, MODEL_ID, FakeNimServer, score

KEY = "k-test"
QUERY = "gpu memory bandwidth"
TEXTS = ["cpu cache", "gpu memory bandwidth", "memory of a gpu", "cooking", "bandwidth"]
BODY: dict[str, Any] = {
    "model": MODEL_ID,
    "query": {"text": QUERY},
    "passages": [{"text": t} for t in TEXTS],
}
HOSTED = "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
ROOT = Path(__file__).resolve().parents[2]
VERIFY = False  # plain HTTP to 127.0.0.1: skip loading CA certificates (~0.1 s a client)


def expected_rankings(query: str, texts: list[str]) -> list[dict[str, Any]]:
    ranked = [{"index": i, "logit": score(query, t)} for i, t in enumerate(texts)]
    return sorted(ranked, key=lambda r: -r["logit"])


EXPECTED = expected_rankings(QUERY, TEXTS)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeNimServer]:
    with FakeNimServer(api_key=KEY, max_passages=8, max_tokens=10) as s:
        yield s


@pytest.fixture
def nim(server: FakeNimServer) -> FakeNimServer:
    server.clear()
    return server


@pytest.fixture
def client(nim: FakeNimServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=nim.url, headers=headers, timeout=5, verify=VERIFY) as c:
        yield c


def post(
    client: httpx.Client, body: Any = BODY, path: str = "/v1/ranking", **headers: str
) -> httpx.Response:
    return client.post(path, json=body, headers=headers)


def fault(client: httpx.Client, mode: str, **kwargs: Any) -> httpx.Response:
    return client.post("/v1/ranking", json=BODY, headers={"X-Fake-Fault": mode}, **kwargs)


# -- routes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/ranking",
        HOSTED,
        "/v1/retrieval/nvidia/reranking",
        "/v1/retrieval/nvidia/nv-rerankqa-mistral-4b-v3/reranking",
    ],
)
def test_rerank_routes_answer_rankings_best_first(client: httpx.Client, path: str) -> None:
    answer = post(client, path=path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"rankings": EXPECTED}


def test_get_routes(client: httpx.Client) -> None:
    assert client.get("/v1/models").json() == {
        "object": "list",
        "data": [{"id": "nvidia/llama-3.2-nv-rerankqa-1b-v2"}],
    }
    for state in ("live", "ready"):
        answer = httpx.get(f"{client.base_url}/v1/health/{state}", verify=VERIFY)  # no key
        assert answer.status_code == 200 and answer.json()["status"] == state


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/nope", 404),
        ("POST", "/v1/nope", 404),
        ("POST", "/v1/retrieval/other/reranking", 404),
        ("POST", "/v1/retrieval/nvidia/llama/extra/reranking", 404),
        ("POST", "/v1/rankings", 404),
        ("GET", "/v1/ranking", 405),
        ("PUT", HOSTED, 405),
        ("POST", "/v1/models", 405),
        ("DELETE", "/v1/health/ready", 405),
    ],
)
def test_unknown_paths_and_wrong_methods(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    answer = client.request(method, path, json=BODY if method != "GET" else None)
    assert answer.status_code == status
    assert "detail" in answer.json()
    if status == 405:
        assert answer.headers["allow"] in ("GET", "POST")


def test_dot_segments_are_not_a_route(nim: FakeNimServer) -> None:
    with socket.create_connection(("127.0.0.1", nim.port)) as sock:
        sock.sendall(b"POST /v1/retrieval/../../reranking HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404 ")


# -- validation and auth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({**BODY, "top_k": 1}, 400, None),
        ([BODY], 400, "JSON object"),
        ({**BODY, "query": "gpu"}, 400, "query"),
        ({**BODY, "query": {"txt": "gpu"}}, 400, "query"),
        ({**BODY, "passages": []}, 400, "passages"),
        ({**BODY, "passages": ["gpu"]}, 400, "passages"),
        ({**BODY, "passages": [{"text": 1}]}, 400, "passages"),
        ({k: v for k, v in BODY.items() if k != "passages"}, 400, "passages"),
        ({**BODY, "passages": [{"text": "p"}] * 9}, 400, "at most 8"),
        ({**BODY, "model": 3}, 400, "model"),
        ({**BODY, "truncate": "START"}, 422, "truncate"),
        ({**BODY, "truncate": None}, 422, "truncate"),
    ],
)
def test_invalid_bodies_are_rejected(
    client: httpx.Client, body: Any, status: int, detail: str | None
) -> None:
    answer = post(client, body)
    assert answer.status_code == status
    if detail is None:
        assert answer.json() == {
            "detail": "top_k: unknown field, expected one of model, query, passages, truncate"
        }
    else:
        assert detail in answer.json()["detail"]


def test_invalid_json_is_400(client: httpx.Client) -> None:
    answer = client.post("/v1/ranking", content=b'{"query": ', headers={"X-Any": "1"})
    assert answer.status_code == 400 and "JSON" in answer.json()["detail"]
    assert client.post("/v1/ranking").status_code == 400  # no body at all


@pytest.mark.parametrize("truncate", [None, "NONE"])
def test_over_long_pairs_fail_without_truncation(
    client: httpx.Client, truncate: str | None
) -> None:
    body = {**BODY, "passages": [{"text": "a"}, {"text": "w " * 8}]}  # 3 + 8 words > 10
    if truncate:
        body["truncate"] = truncate
    answer = post(client, body)
    assert answer.status_code == 400
    assert answer.json() == {"detail": "Input length 11 exceeds maximum allowed token size 10"}


def test_truncate_end_cuts_the_passage(client: httpx.Client) -> None:
    long = "cooking " * 7 + "gpu memory bandwidth"  # 3 + 10 words: cut to the first 7
    answer = post(client, {**BODY, "passages": [{"text": long}], "truncate": "END"})
    assert answer.status_code == 200
    cut = " ".join(["cooking"] * 7)
    assert answer.json()["rankings"] == [{"index": 0, "logit": score(QUERY, cut)}]
    assert post(client, {**BODY, "truncate": "END"}).json()["rankings"] == EXPECTED


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", KEY, f"Basic {KEY}"])
def test_posts_need_the_bearer_key(nim: FakeNimServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.post(f"{nim.url}/v1/ranking", json=BODY, headers=headers, verify=VERIFY)
    assert answer.status_code == 401 and answer.json()["detail"]


def test_a_keyless_server_needs_no_key() -> None:
    with FakeNimServer() as open_nim:
        answer = httpx.post(f"{open_nim.url}/v1/ranking", json=BODY, verify=VERIFY)
    assert answer.json() == {"rankings": EXPECTED}


# -- scoring ------------------------------------------------------------------------------------


def test_score_counts_distinct_query_words() -> None:
    assert score("GPU gpu memory", "the gpu's Memory") == pytest.approx(1.0, abs=0.11)
    assert score("gpu", "cpu") == pytest.approx(-3.0, abs=0.11)
    assert score("a b", "x") == score("c d", "x")  # the tie-break depends on the passage only


def test_scores_do_not_depend_on_the_other_passages(client: httpx.Client) -> None:
    together = post(client).json()["rankings"]
    for ranking in together:
        alone = post(client, {**BODY, "passages": [BODY["passages"][ranking["index"]]]})
        assert alone.json()["rankings"] == [{"index": 0, "logit": ranking["logit"]}]
    head = post(client, {**BODY, "passages": BODY["passages"][:2]}).json()["rankings"]
    tail = post(client, {**BODY, "passages": BODY["passages"][2:]}).json()["rankings"]
    merged = head + [{**r, "index": r["index"] + 2} for r in tail]
    assert sorted(merged, key=lambda r: -r["logit"]) == together


def test_expected_ranking_puts_the_most_matching_passages_first() -> None:
    assert [r["index"] for r in EXPECTED][:3] == [1, 2, 4]


def test_equal_passages_keep_request_order(client: httpx.Client) -> None:
    body = {**BODY, "passages": [{"text": "same"}] * 3}
    assert [r["index"] for r in post(client, body).json()["rankings"]] == [0, 1, 2]


# -- recording and connections ------------------------------------------------------------------


def test_posts_are_recorded_and_cleared(nim: FakeNimServer, client: httpx.Client) -> None:
    before = nim.post_count
    post(client, path=HOSTED, **{"X-Trace": "abc"})
    client.get("/v1/models")
    fault(client, "status:503")
    assert nim.post_count - before == 2
    first = nim.requests[0]
    assert (first.method, first.path, first.json) == ("POST", HOSTED, BODY)
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.headers["x-trace"] == "abc"
    assert json.loads(first.body) == BODY
    assert len(nim.requests) == 2 and nim.requests[1].headers["x-fake-fault"] == "status:503"
    client.post("/v1/ranking", content=b"not json")
    assert nim.requests[-1].json is None and nim.requests[-1].body == b"not json"
    nim.clear()
    assert nim.requests == []


def test_keep_alive_reuses_one_connection(nim: FakeNimServer, client: httpx.Client) -> None:
    before = nim.connections_opened
    for _ in range(5):
        assert post(client).status_code == 200
    client.get("/v1/health/ready")
    post(client, path="/v1/nope")
    fault(client, "status:500")
    assert nim.connections_opened - before == 1


def test_connection_close_is_honoured(nim: FakeNimServer, client: httpx.Client) -> None:
    before = nim.connections_opened
    for _ in range(3):
        answer = post(client, **{"Connection": "close"})
        assert answer.headers["connection"] == "close"
    assert nim.connections_opened - before == 3


def test_expect_100_continue(nim: FakeNimServer) -> None:
    payload = json.dumps(BODY).encode()
    with socket.create_connection(("127.0.0.1", nim.port)) as sock:
        sock.sendall(
            b"POST /v1/ranking HTTP/1.1\r\nAuthorization: Bearer %s\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (KEY.encode(), len(payload))
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(payload)
        assert sock.recv(100).startswith(b"HTTP/1.1 200 OK\r\n")


def test_stop_closes_hung_connections_and_joins_the_thread() -> None:
    s = FakeNimServer().start()
    errors: list[BaseException] = []

    def hung_request() -> None:
        try:
            httpx.post(
                f"{s.url}/v1/ranking", json=BODY, headers={"X-Fake-Fault": "hang"}, verify=VERIFY
            )
        except httpx.TransportError as exc:
            errors.append(exc)

    thread = threading.Thread(target=hung_request)
    thread.start()
    deadline = time.monotonic() + 5
    while s.post_count < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    s.stop()
    thread.join(2)
    assert time.monotonic() - started < 2 and not thread.is_alive() and errors
    assert s._thread is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{s.url}/v1/health/live", verify=VERIFY)


def test_a_taken_port_raises_on_start(nim: FakeNimServer) -> None:
    with pytest.raises(OSError, match="in use"):
        FakeNimServer(port=nim.port).start()


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 401, 403, 404, 408, 413, 422, 500, 502, 503, 504])
def test_status_fault(client: httpx.Client, code: int) -> None:
    answer = fault(client, f"status:{code}")
    assert answer.status_code == code and answer.json()["detail"]


@pytest.mark.parametrize(
    ("mode", "retry_after"), [("429", "0"), ("429:3", "3"), ("429:0.5", "0.5")]
)
def test_429_with_retry_after_seconds(client: httpx.Client, mode: str, retry_after: str) -> None:
    answer = fault(client, mode)
    assert answer.status_code == 429 and answer.headers["retry-after"] == retry_after


def test_429_with_retry_after_date(client: httpx.Client) -> None:
    answer = fault(client, "429-date:30")
    when = email.utils.parsedate_to_datetime(answer.headers["retry-after"]).timestamp()
    assert answer.status_code == 429 and 28 <= when - time.time() <= 30


def test_reset_aborts_mid_headers(nim: FakeNimServer, client: httpx.Client) -> None:
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        fault(client, "reset")
    assert post(client).status_code == 200  # a new connection works


def test_hang_times_out(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        fault(client, "hang", timeout=0.2)


def test_drip_sends_a_valid_answer_slowly(client: httpx.Client) -> None:
    started = time.monotonic()
    answer = fault(client, "drip:0.001")
    assert answer.json() == {"rankings": EXPECTED}
    assert time.monotonic() - started >= 0.001 * len(answer.content)
    with pytest.raises(httpx.ReadTimeout):  # each byte arrives, but slower than the timeout
        fault(client, "drip:0.5", timeout=0.2)


def test_slow_answers_late(client: httpx.Client) -> None:
    started = time.monotonic()
    assert fault(client, "slow:0.2").json() == {"rankings": EXPECTED}
    assert time.monotonic() - started >= 0.2


def test_truncated_body_is_a_protocol_error(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        fault(client, "truncated")


def test_close_answers_then_closes(nim: FakeNimServer, client: httpx.Client) -> None:
    before = nim.connections_opened
    assert fault(client, "close").json() == {"rankings": EXPECTED}
    assert post(client).status_code == 200
    assert nim.connections_opened - before == 2


def test_broken_bodies(client: httpx.Client) -> None:
    malformed = fault(client, "malformed-json")
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    html = fault(client, "html-502")
    assert html.status_code == 502 and html.headers["content-type"] == "text/html"
    assert b"502 Bad Gateway" in html.content
    empty = fault(client, "empty-body")
    assert empty.status_code == 200 and empty.content == b""


def test_wrong_ranking_shapes(client: httpx.Client) -> None:
    assert fault(client, "bare-list").json() == EXPECTED
    out_of_range = [r["index"] for r in fault(client, "out-of-range").json()["rankings"]]
    assert max(out_of_range) == len(TEXTS) and len(out_of_range) == len(TEXTS)
    repeated = [r["index"] for r in fault(client, "repeated").json()["rankings"]]
    assert len(repeated) == len(TEXTS) and len(set(repeated)) < len(TEXTS)
    assert fault(client, "fewer").json()["rankings"] == EXPECTED[:-1]
    extra = fault(client, "extra-fields").json()
    assert set(extra) > {"rankings"}
    assert [{"index": r["index"], "logit": r["logit"]} for r in extra["rankings"]] == EXPECTED
    assert all(set(r) > {"index", "logit"} for r in extra["rankings"])


def test_reshaping_faults_keep_validation_errors(client: httpx.Client) -> None:
    answer = client.post("/v1/ranking", json={"query": "x"}, headers={"X-Fake-Fault": "fewer"})
    assert answer.status_code == 400


def test_single_passage_repeated_still_repeats(client: httpx.Client) -> None:
    body = {**BODY, "passages": [{"text": "gpu"}]}
    answer = client.post("/v1/ranking", json=body, headers={"X-Fake-Fault": "repeated"})
    assert [r["index"] for r in answer.json()["rankings"]] == [0, 0]


def test_enqueued_faults_apply_in_order_then_normal(
    nim: FakeNimServer, client: httpx.Client
) -> None:
    nim.enqueue_faults(["status:503", "429:0", "fewer"])
    assert [post(client).status_code for _ in range(2)] == [503, 429]
    assert fault(client, "status:502").status_code == 502  # a header wins, queue untouched
    assert post(client).json()["rankings"] == EXPECTED[:-1]
    assert post(client).json()["rankings"] == EXPECTED
    nim.enqueue_faults(["status:500"])
    nim.clear()
    assert post(client).status_code == 200


@pytest.mark.parametrize("mode", ["nope", "status", "status:abc", "status:99", "reset:1", "slow"])
def test_bad_fault_modes_are_refused(nim: FakeNimServer, client: httpx.Client, mode: str) -> None:
    with pytest.raises(ValueError, match="fake fault"):
        nim.enqueue_faults([mode])
    answer = fault(client, mode)
    assert answer.status_code == 400 and "fake fault" in answer.json()["detail"]


def test_every_fault_mode_is_covered_here() -> None:
    source = Path(__file__).read_text()
    assert all(f'"{mode}' in source for mode in FAULT_MODES)


def test_failure_rate_is_seeded_and_mixes_429_and_503() -> None:
    def statuses(seed: int) -> list[int]:
        with (
            FakeNimServer(failure_rate=0.5, seed=seed) as s,
            httpx.Client(base_url=s.url, verify=VERIFY) as c,
        ):
            answers = [c.post("/v1/ranking", json=BODY) for _ in range(40)]
        assert all(a.headers["retry-after"] == "0" for a in answers if a.status_code == 429)
        return [a.status_code for a in answers]

    first = statuses(7)
    assert first == statuses(7) and set(first) == {200, 429, 503}


def test_latency_delays_each_post() -> None:
    with FakeNimServer(latency=0.1) as s, httpx.Client(base_url=s.url, verify=VERIFY) as c:
        assert c.get("/v1/health/ready").elapsed.total_seconds() < 0.1
        started = time.monotonic()
        assert c.post("/v1/ranking", json=BODY).status_code == 200
        assert time.monotonic() - started >= 0.1


def test_standalone_command(unused_port: int) -> None:
    cmd = [sys.executable, "-m", "tests.fakes.nim_server", "--port", str(unused_port)]
    with subprocess.Popen([*cmd, "--api-key", KEY], cwd=ROOT, stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().decode().strip().endswith(f":{unused_port}")
            url = f"http://127.0.0.1:{unused_port}"
            assert httpx.get(f"{url}/v1/health/ready", verify=VERIFY).status_code == 200
            headers = {"Authorization": "x"}
            answer = httpx.post(f"{url}/v1/ranking", json=BODY, headers=headers, verify=VERIFY)
            assert answer.status_code == 401
        finally:
            process.terminate()
    assert process.returncode == 0


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
