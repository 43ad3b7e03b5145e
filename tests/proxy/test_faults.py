"""The proxy under upstream faults: tenant isolation, outlier detection, retries.

Each test runs a real `rerankit serve` in front of fake NIM servers of its own that fail
on purpose, and drives it over HTTP like a client would.
"""

from __future__ import annotations

import concurrent.futures
import random
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import NIM_KEY
from tests.fakes.nim_server import FakeNimServer, score
from tests.proxy.conftest import HOSTED_MODEL, MASTER, SELF_HOSTED_MODEL, ProxyProcess
from tests.proxy.test_metrics import sample

TENANT_A = "sk-tenant-a-000000001"
TENANT_B = "sk-tenant-b-000000002"
WORDS = [
    "gpu",
    "memory",
    "bandwidth",
    "hopper",
    "grace",
    "cpu",
    "tensor",
    "core",
    "cache",
    "latency",
]


def documents(rng: random.Random, count: int = 6) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=5)) + f" #{i}" for i in range(count)]


def expected_order(query: str, docs: list[str]) -> list[int]:
    """The ranking the fake NIM computes: its score, best first."""
    return sorted(range(len(docs)), key=lambda i: -score(query, docs[i]))


@pytest.fixture
def started(tmp_path) -> Iterator[list[ProxyProcess]]:
    """Proxies started by a test; stopped after it."""
    processes: list[ProxyProcess] = []
    yield processes
    for process in processes:
        process.stop()


def serve(started, tmp_path, config, **env: str) -> ProxyProcess:
    process = ProxyProcess(
        tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,local,proxy", **env}
    )
    started.append(process)
    return process.wait_ready()


def post(
    url: str, key: str, model: str, query: str, docs: list[str], client: httpx.Client | None = None
) -> httpx.Response:
    return (client or httpx).post(  # type: ignore[attr-defined]
        f"{url}/v2/rerank",
        json={"model": model, "query": query, "documents": docs},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


# -- 1. one tenant's bad requests never take a model down for another ---------------------


def test_a_tenants_404s_are_answered_at_once_and_never_cool_the_deployment(tmp_path, started):
    with FakeNimServer(api_key=NIM_KEY) as nim:
        config = {
            "model_list": [
                {
                    "model_name": "hosted/*",
                    "params": {"model": "nvidia_nim/*", "api_base": nim.url, "api_key": NIM_KEY},
                }
            ],
            "general_settings": {"master_key": MASTER},
            "keys": [
                {"name": "a", "key": TENANT_A, "models": ["hosted/*"]},
                {"name": "b", "key": TENANT_B, "models": ["hosted/*"]},
            ],
        }
        proxy = serve(started, tmp_path, config)
        nim.enqueue_faults(["status:404"] * 6)
        bad = [
            post(proxy.url, TENANT_A, "hosted/nvidia/does-not-exist", "q", ["d"]) for _ in range(6)
        ]
        assert [r.status_code for r in bad] == [404] * 6, bad[-1].text
        assert bad[0].json()["error"]["code"] == "upstream_not_found"
        assert len(nim.requests) == 6  # never retried, never sent elsewhere
        good = post(proxy.url, TENANT_B, "hosted/" + HOSTED_MODEL.partition("/")[2], "q", ["q"])
        assert good.status_code == 200, good.text
        metrics = httpx.get(
            f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {MASTER}"}
        ).text
        assert sample(metrics, "rerankit_proxy_deployment_cooldowns_total") == 0


def test_configuration_errors_before_any_io_are_the_callers_alone(tmp_path, started):
    # As the no-config proxy has it: `nvidia_nim/*`, one wildcard deployment for everyone.
    config = {
        "model_list": [{"model_name": "nvidia_nim/*", "params": {"model": "nvidia_nim/*"}}],
        "general_settings": {"master_key": MASTER},
    }
    proxy = serve(started, tmp_path, config)
    answers = [
        post(proxy.url, MASTER, "nvidia_nim/ranking/a/b", "q", ["d"]).status_code for _ in range(6)
    ]
    assert answers == [400] * 6  # before: 400, 400, 400, then 503 cooling down
    metrics = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {MASTER}"})
    assert sample(metrics.text, "rerankit_proxy_deployment_cooldowns_total") == 0


def test_a_rejected_deployment_key_is_ejected_and_calls_move_on(tmp_path, started):
    with FakeNimServer(api_key=NIM_KEY) as keyed, FakeNimServer() as open_nim:
        config = {
            "model_list": [
                {
                    "model_name": "m",
                    "id": "wrong-key",
                    "params": {
                        "model": SELF_HOSTED_MODEL,
                        "api_base": keyed.url,
                        "api_key": "nvapi-wrong-key-0000",
                    },
                },
                {
                    "model_name": "m",
                    "id": "good",
                    "params": {"model": SELF_HOSTED_MODEL, "api_base": open_nim.url},
                },
            ],
            "general_settings": {"master_key": MASTER},
        }
        proxy = serve(started, tmp_path, config)
        answers = [post(proxy.url, MASTER, "m", "q", ["q", "x"]) for _ in range(6)]
        assert [r.status_code for r in answers] == [200] * 6
        assert {r.headers["x-rerankit-deployment"] for r in answers} == {"good"}
        assert len(keyed.requests) == 1  # asked once, never retried, then ejected
        log = proxy.log()
        assert "wrong-key of m is misconfigured" in log and "HTTP 401" in log
        assert "nvapi-wrong-key-0000" not in log


# -- 2. a flaky upstream: the proxy must do better than no proxy --------------------------


def burst(url: str, model: str, count: int, concurrency: int, seed: int) -> tuple[int, int]:
    """`count` calls, `concurrency` at a time: (answered 200, wrong rankings)."""
    rng = random.Random(seed)
    calls = [(f"{rng.choice(WORDS)} {rng.choice(WORDS)}", documents(rng)) for _ in range(count)]

    def one(call: tuple[str, list[str]]) -> tuple[bool, bool]:
        query, docs = call
        r = post(url, MASTER, model, query, docs, shared)
        if r.status_code != 200:
            return False, False
        got = [x["index"] for x in r.json()["results"]]
        return True, got != expected_order(query, docs)

    limits = httpx.Limits(max_keepalive_connections=concurrency)
    with (
        httpx.Client(limits=limits) as shared,
        concurrent.futures.ThreadPoolExecutor(concurrency) as pool,
    ):
        results = list(pool.map(one, calls))
    return sum(ok for ok, _ in results), sum(wrong for _, wrong in results)


@pytest.mark.parametrize("statuses", [(500,), (500, 429)], ids=["500", "500+429"])
def test_one_deployment_failing_30_percent_still_answers_97_percent(tmp_path, started, statuses):
    with FakeNimServer(failure_rate=0.3, failure_statuses=statuses, seed=7) as nim:
        config = {
            "model_list": [
                {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": nim.url}}
            ],
            "general_settings": {"master_key": MASTER},
            # default router settings
        }
        proxy = serve(started, tmp_path, config)
        answered, wrong = burst(proxy.url, "m", 300, 8, seed=11)
        print(f"\n{statuses}: {answered}/300 answered 200, {wrong} wrong rankings")
        assert wrong == 0
        assert answered >= 291, f"only {answered}/300 answered"


def test_a_failing_deployment_is_ejected_and_its_group_keeps_answering(tmp_path, started):
    with (
        FakeNimServer(failure_rate=0.8, failure_statuses=(500,), seed=3) as sick,
        FakeNimServer() as well,
    ):
        config = {
            "model_list": [
                {
                    "model_name": "m",
                    "id": "sick",
                    "params": {"model": SELF_HOSTED_MODEL, "api_base": sick.url},
                },
                {
                    "model_name": "m",
                    "id": "well",
                    "params": {"model": SELF_HOSTED_MODEL, "api_base": well.url},
                },
            ],
            "general_settings": {"master_key": MASTER},
            "router_settings": {"cooldown_time": 60},
        }
        proxy = serve(started, tmp_path, config)
        answered, wrong = burst(proxy.url, "m", 60, 4, seed=5)
        assert (answered, wrong) == (60, 0)
        # Ejected after a handful of failures; the rest of the burst went to "well".
        assert len(sick.requests) < 20
        assert "deployment sick of m ejected for 60.0 s" in proxy.log()
