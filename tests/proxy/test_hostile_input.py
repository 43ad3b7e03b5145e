"""A real `rerankit serve` against hostile callers and a misbehaving upstream of our own.

The upstream is one `FakeRerankServer` speaking NIM's self-hosted format; each deployment
reaches it under its own path prefix (`/<case>/v1/ranking`), and the handler misbehaves
by case: a gzip bomb, infinite scores and usage, `Retry-After: inf`, a key echoed in a
malformed 2xx answer, a 5 MB value in an answer. Callers send lone surrogates, deep
nesting, `k1: NaN` and one CPU-heavy `local/bm25` request.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL, ProxyProcess, free_port

ECHO_KEY = "nvapi-echoed-by-upstream-0077"
MIB = 1024 * 1024
JSON = {"content-type": "application/json"}
CASES = ("ok", "bomb", "infinite", "usage", "ratelimited", "echo", "chatty")


def _bomb() -> bytes:
    """128 MiB of zeros, gzip-compressed to about 128 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MIB)
    return b"".join([*(compressor.compress(zeros) for _ in range(128)), compressor.flush()])


def _handler(bomb: bytes) -> Any:
    def handle(seen: Seen) -> Reply:
        case = seen.path.split("/")[1]
        texts = [p["text"] for p in seen.json["passages"]]
        good = [{"index": i, "logit": s} for i, s in ranked(seen.json["query"]["text"], texts)]
        if case == "bomb":
            return Reply(200, bomb, {**JSON, "content-encoding": "gzip"})
        if case == "infinite":
            return Reply(200, b'{"rankings": [{"index": 0, "logit": 1e999}]}', JSON)
        if case == "usage":
            body = {"rankings": good, "usage": {"total_tokens": "INF", "prompt_tokens": 4}}
            return Reply(200, json_with_infinity(body), JSON)
        if case == "ratelimited":
            return Reply(429, {"message": "slow down"}, {"retry-after": "inf"})
        if case == "echo":
            return Reply(200, {"rankings": f"key {seen.headers['authorization']} is odd"})
        if case in _BAD_RANKINGS:  # the answer's own shape, with one thing wrong
            return Reply(200, {"rankings": _BAD_RANKINGS[case]})
        if case == "chatty":
            return Reply(200, {"rankings": [{"index": "x" * 5_000_000, "logit": 1}]})
        return Reply(200, {"rankings": good})

    return handle


#: Rankings of one document ("a") the core refuses, whatever the call path.
_BAD_RANKINGS: dict[str, list[Any]] = {
    "repeated": [{"index": 0, "logit": 1.0}, {"index": 0, "logit": 0.5}],
    "out-of-range": [{"index": 1, "logit": 1.0}],
    "negative": [{"index": -1, "logit": 1.0}],
    "bool-index": [{"index": True, "logit": 1.0}],
    "text-score": [{"index": 0, "logit": "high"}],
    "bool-score": [{"index": 0, "logit": False}],
    "fewer": [],
}


def json_with_infinity(body: dict[str, Any]) -> bytes:
    """`body` as JSON with the string "INF" written as the bare token Infinity."""
    return json.dumps(body).replace('"INF"', "Infinity").encode()


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeRerankServer]:
    with FakeRerankServer(_handler(_bomb())) as server:
        yield server


def _config(upstream: FakeRerankServer, closed_port: int) -> dict[str, Any]:
    def nim(case: str, **extra: Any) -> dict[str, Any]:
        params = {"model": SELF_HOSTED_MODEL, "api_base": f"{upstream.url}/{case}", **extra}
        return {"model_name": case, "id": f"{case}-1", "params": params}

    return {
        "model_list": [
            *(nim(case) for case in (*CASES, *_BAD_RANKINGS) if case != "echo"),
            nim("echo", api_key=ECHO_KEY),
            {
                "model_name": "creds",
                "id": "creds-1",
                "params": {
                    "model": SELF_HOSTED_MODEL,
                    "api_base": f"http://admin:pw-s3cret@127.0.0.1:{closed_port}",
                },
            },
            {"model_name": "bm25", "id": "bm25-1", "params": {"model": "local/bm25"}},
        ],
        "general_settings": {"master_key": MASTER},
        "limits": {"max_response_bytes": MIB},
    }


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: FakeRerankServer
) -> Iterator[ProxyProcess]:
    env = {"RERANKIT_LOAD_PLUGINS": "nvidia_nim,local,proxy"}
    process = ProxyProcess(
        tmp_path_factory.mktemp("hostile"), _config(upstream, free_port()), env=env
    )
    try:
        yield process.wait_ready()
    finally:
        process.stop()


@pytest.fixture
def client(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=proxy.url, headers={"Authorization": f"Bearer {MASTER}"}, timeout=30
    ) as c:
        yield c


def post(client: httpx.Client, raw: bytes, path: str = "/v1/rerank") -> httpx.Response:
    return client.post(path, content=raw, headers={"content-type": "application/json"})


def calls_to(upstream: FakeRerankServer, case: str) -> int:
    return sum(1 for seen in upstream.requests if seen.path.startswith(f"/{case}/"))


def peak_rss(proxy: ProxyProcess) -> int:
    status = Path(f"/proc/{proxy.process.pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


# -- what the upstream sends -------------------------------------------------------------------


def test_a_gzip_bomb_is_refused_without_the_proxy_growing(client, proxy):
    before = peak_rss(proxy)
    r = client.post("/v1/rerank", json={"model": "bomb", "query": "q", "documents": ["a", "b"]})
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "invalid_response"
    # The body expands to 128 MiB; the proxy decodes at most max_response_bytes (1 MiB).
    assert peak_rss(proxy) - before < 32 * MIB
    assert "max_response_bytes=1048576" in proxy.log()


def test_an_infinite_score_is_a_bad_answer_not_a_crash(client):
    r = client.post("/v1/rerank", json={"model": "infinite", "query": "q", "documents": ["a"]})
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "invalid_response"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("repeated", "appears more than once"),
        ("out-of-range", "index 1 is not a position"),
        ("negative", "index -1 is not a position"),
        ("bool-index", "index True is not a position"),
        ("text-score", "is 'high', not a number"),
        ("bool-score", "is False, not a number"),
        ("fewer", "0 results for 1 expected"),
    ],
)
def test_a_bad_ranking_is_refused_on_the_proxys_path(client, proxy, case, reason):
    """The proxy takes the plain answer (no `RerankResponse` is built): core's ranking
    checks still refuse every bad one, as they do for the SDK (tests/core)."""
    r = client.post("/v1/rerank", json={"model": case, "query": "q", "documents": ["a"]})
    assert r.status_code == 502, r.text
    assert r.json()["error"]["code"] == "invalid_response"
    assert reason in proxy.log()


def test_infinite_usage_is_dropped_and_the_answer_kept(client):
    r = client.post(
        "/v1/rerank", json={"model": "usage", "query": "alpha", "documents": ["b", "alpha"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["index"] == 1
    assert r.json()["meta"]["usage"] == {"prompt_tokens": 4}


def test_an_infinite_retry_after_reaches_the_caller_capped(client):
    r = client.post("/v1/rerank", json={"model": "ratelimited", "query": "q", "documents": ["a"]})
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_upstream_text_and_secrets_stay_out_of_the_log(client, proxy, upstream):
    for model in ("chatty", "echo", "creds"):
        r = client.post("/v1/rerank", json={"model": model, "query": "q", "documents": ["a"]})
        assert r.status_code in (502, 503), r.text
    assert any(s.headers.get("authorization") == f"Bearer {ECHO_KEY}" for s in upstream.requests)
    log = proxy.log()
    assert "deployment chatty-1 of chatty failed" in log
    assert "deployment echo-1 of echo failed" in log
    assert "deployment creds-1 of creds failed" in log
    # A 5 MB value in the answer makes a short line, each time it is logged.
    assert max(len(line) for line in log.splitlines()) < 4000
    assert ECHO_KEY not in log
    assert "pw-s3cret" not in log


# -- what callers send -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"model": "ok", "query": "q\ud800", "documents": ["a"]}',
        rb'{"model": "ok", "query": "q", "documents": ["a", "b \udfff"]}',
        rb'{"model": "ok", "query": "q", "documents": [{"text": "a", "title": "\ud83d"}]}',
        rb'{"model": "ok", "query": "q", "documents": [{"text": "a", "\udc00": 1}]}',
    ],
)
def test_lone_surrogates_are_refused_before_the_upstream_is_called(client, upstream, raw):
    before = calls_to(upstream, "ok")
    r = post(client, raw)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_unicode"
    assert "lone surrogate" in r.json()["error"]["message"]
    assert calls_to(upstream, "ok") == before


def test_a_surrogate_pair_is_text_and_passes(client):
    raw = rb'{"model": "ok", "query": "q \ud83d\ude00", "documents": ["a \ud83d\ude00", "b"]}'
    r = post(client, raw, "/v2/rerank")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_nesting_is_refused_with_the_limit(client, upstream, depth):
    before = calls_to(upstream, "ok")
    meta = b"[" * depth + b"]" * depth
    r = post(
        client, b'{"model": "ok", "query": "q", "documents": [{"text": "a", "m": ' + meta + b"}]}"
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "json_too_deep"
    assert "32 levels" in r.json()["error"]["message"]
    assert calls_to(upstream, "ok") == before


def test_nesting_within_the_limit_passes(client):
    meta = b"[" * 28 + b"]" * 28
    r = post(
        client, b'{"model": "ok", "query": "q", "documents": [{"text": "a", "m": ' + meta + b"}]}"
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
@pytest.mark.parametrize(
    "template",
    [
        # a provider parameter (BM25 would take NaN for k1)
        b'{"model": "bm25", "query": "q", "documents": ["q a", "b"], "k1": %s}',
        # a document field echoed in the answer (no JSON encoder writes NaN)
        b'{"model": "ok", "query": "q", "documents": [{"text": "a", "score": %s}], '
        b'"return_documents": true}',
    ],
)
def test_non_finite_numbers_are_refused_as_json(client, upstream, template, value):
    """Not JSON (NaN, Infinity) or not a float (1e999): refused before any upstream call."""
    before = calls_to(upstream, "ok")
    r = post(client, template % value)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_json"
    assert calls_to(upstream, "ok") == before


@pytest.mark.parametrize(
    ("k1", "message"), [(-1, "'k1' must be >= 0"), (10**400, "'k1' must be a finite number")]
)
def test_bm25_parameters_are_checked_for_range(client, k1, message):
    body = {"model": "bm25", "query": "q", "documents": ["q a", "b"], "k1": k1}
    r = client.post("/v1/rerank", json=body)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"]["message"]


def test_a_long_bm25_request_does_not_stall_other_requests(client, proxy):
    """While one large local/bm25 request computes, a small one is answered."""
    words = " ".join(f"word{i % 97} term{i % 89}" for i in range(250))
    big = {"model": "bm25", "query": "word1 term2 word3", "documents": [words] * 2500}
    small = {"model": "bm25", "query": "alpha", "documents": ["alpha", "beta"]}
    finished: list[str] = []

    def send_big() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {MASTER}"}, timeout=60) as c:
            assert c.post(f"{proxy.url}/v1/rerank", json=big).status_code == 200
        finished.append("big")

    sender = threading.Thread(target=send_big)
    sender.start()
    computing = 'rerankit_proxy_upstream_in_flight{deployment="bm25-1"} 1'
    # Wait until the proxy is computing the big one (or, before the fix, has finished it:
    # its event loop answers nothing else meanwhile).
    while not finished and computing not in client.get("/metrics").text:
        pass
    if not finished:
        assert client.post("/v1/rerank", json=small).status_code == 200
        finished.append("small")
    sender.join(60)
    assert finished == ["small", "big"]


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("router_settings", "cooldown_time", float("nan")),
        ("limits", "request_timeout", float("inf")),
    ],
)
def test_non_finite_numbers_in_the_config_stop_start_up(tmp_path, section, field, value):
    path = tmp_path / "config.yaml"
    config = {
        "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}],
        section: {field: value},
    }
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(path), "--port", "9"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RERANKIT_LOAD_PLUGINS": "local,proxy"},
    )
    assert result.returncode == 2, result.stderr
    assert f"{path}: {section}.{field}: must be a finite number" in result.stderr
