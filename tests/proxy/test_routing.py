"""Load balancing, cool-down, retries and fallbacks, with real upstreams that fail."""

from __future__ import annotations

import concurrent.futures
import itertools
import time

import httpx

from tests.conftest import NIM_KEY
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL, ProxyProcess

BODY = {"query": "memory bandwidth", "documents": ["H100 memory bandwidth", "cats"]}


def rerank(client, model):
    return client.post("/v2/rerank", json={"model": model, **BODY})


def test_round_robin_spreads_calls_over_the_group(client, nim, second_nim):
    nim.clear()
    second_nim.clear()
    answered = [rerank(client, "pair").headers["x-rerankit-deployment"] for _ in range(6)]
    assert sorted(set(answered)) == ["pair-a", "pair-b"]
    assert answered.count("pair-a") == answered.count("pair-b") == 3
    assert all(a != b for a, b in itertools.pairwise(answered))
    assert len(nim.requests) == len(second_nim.requests) == 3


def test_failing_deployment_is_retried_elsewhere_then_cooled_down(client, bad_nim, second_nim):
    bad_nim.clear()
    second_nim.clear()
    answers = [rerank(client, "flaky") for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 6
    assert {r.headers["x-rerankit-deployment"] for r in answers} == {"flaky-good"}
    # allowed_fails is 1: the bad one was tried at most once, then left alone
    assert len(bad_nim.requests) <= 1
    assert len(second_nim.requests) == 6


def test_deployment_max_retries_retries_the_same_upstream(client, spare_nim):
    spare_nim.clear()
    spare_nim.enqueue_faults(["status:503"])
    r = rerank(client, "retrying")
    assert r.status_code == 200, r.text
    assert r.headers["x-rerankit-deployment"] == "retrying-1"
    assert len(spare_nim.requests) == 2  # the client's own retry, within the one attempt
    # without max_retries a deployment is asked once per router attempt
    spare_nim.clear()
    spare_nim.enqueue_faults(["status:400"])
    assert rerank(client, "faulty").status_code == 400
    assert len(spare_nim.requests) == 1


def test_fallback_answers_when_every_attempt_failed(client):
    r = rerank(client, "broken")
    assert r.status_code == 200, r.text
    assert r.headers["x-rerankit-deployment"] == "bm25#1"
    assert r.json()["model"] == "bm25"
    assert r.json()["meta"]["score_kind"] == "bm25"


def test_failure_after_retries_is_502_and_the_only_deployment_stays_in_rotation(client, bad_nim):
    bad_nim.clear()
    first = rerank(client, "doomed")
    assert first.status_code == 502, first.text
    error = first.json()["error"]
    assert error["type"] == "upstream_error"
    assert "doomed-1" in error["message"] and "503" in error["message"]
    assert bad_nim.url not in first.text  # the upstream's address stays private
    assert len(bad_nim.requests) == 3  # the first attempt and num_retries: 2
    # The panic rule: the last deployment of a group is never ejected, so the next
    # call is tried again rather than refused with a 503.
    second = rerank(client, "doomed")
    assert second.status_code == 502
    assert len(bad_nim.requests) == 6


def test_upstream_429_holds_the_deployment_for_its_retry_after(tmp_path, spare_nim):
    config = {
        "model_list": [
            {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": spare_nim.url}}
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"num_retries": 1},
        "limits": {"request_timeout": 1},
    }
    process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"})
    try:
        process.wait_ready()
        headers = {"Authorization": f"Bearer {MASTER}"}
        with httpx.Client(base_url=process.url, headers=headers) as c:
            spare_nim.clear()
            spare_nim.enqueue_faults(["429:5"])
            r = rerank(c, "m")
            # waiting 5 s does not fit the 1 s request deadline: the caller is told to wait
            assert r.status_code == 429, r.text
            assert r.headers["retry-after"] == "5"
            assert r.json()["error"]["code"] == "upstream_rate_limited"
            # while its Retry-After runs, a rate-limited upstream is not asked again
            again = rerank(c, "m")
            assert again.status_code == 429
            assert 1 <= int(again.headers["retry-after"]) <= 5
            assert len(spare_nim.requests) == 1
    finally:
        spare_nim.clear()
        process.stop()


def test_a_short_retry_after_is_waited_out_within_the_request(tmp_path, spare_nim):
    config = {
        "model_list": [
            {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": spare_nim.url}}
        ],
        "general_settings": {"master_key": MASTER},
    }
    process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"})
    try:
        process.wait_ready()
        headers = {"Authorization": f"Bearer {MASTER}"}
        with httpx.Client(base_url=process.url, headers=headers, timeout=10) as c:
            spare_nim.clear()
            spare_nim.enqueue_faults(["429:1"])
            r = rerank(c, "m")
            assert r.status_code == 200, r.text  # waited 1 s (<= max_retry_wait), then asked
            assert len(spare_nim.requests) == 2
    finally:
        spare_nim.clear()
        process.stop()


def test_least_busy_prefers_the_idle_deployment(tmp_path, nim, second_nim):
    # One upstream is slow: while a call is in flight there, the other takes the rest.
    config = {
        "model_list": [
            {
                "model_name": "m",
                "id": "slow",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url, "api_key": NIM_KEY},
            },
            {
                "model_name": "m",
                "id": "fast",
                "params": {"model": SELF_HOSTED_MODEL, "api_base": second_nim.url},
            },
        ],
        "general_settings": {"master_key": MASTER},
        "router_settings": {"routing_strategy": "least-busy"},  # the gateway's spelling
    }
    process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"})
    try:
        process.wait_ready()
        nim.clear()
        nim.enqueue_faults(["slow:1.5"])
        headers = {"Authorization": f"Bearer {MASTER}"}

        def one(_: int) -> str:
            r = httpx.post(f"{process.url}/v2/rerank", json={"model": "m", **BODY}, headers=headers)
            return r.headers["x-rerankit-deployment"]

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            opening = list(pool.map(one, range(2)))  # one each; the one on "slow" takes 1.5 s
            assert sorted(opening) == ["fast", "slow"]
        nim.enqueue_faults(["slow:2"])
        before = len(nim.requests)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            pending = [pool.submit(one, 0), pool.submit(one, 1)]
            # wait until one call is held at the slow upstream and the other has returned
            deadline = time.monotonic() + 10
            while not (len(nim.requests) > before and any(p.done() for p in pending)):
                assert time.monotonic() < deadline, "the opening calls did not get going"
                time.sleep(0.01)
            quick = [one(i) for i in range(4)]
            assert not all(p.done() for p in pending), "the slow call ended too soon to tell"
            [p.result() for p in pending]
        assert quick == ["fast"] * 4
    finally:
        nim.clear()
        process.stop()
