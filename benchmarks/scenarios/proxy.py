"""Scenario 5: the rerankit proxy under load, against the upstream hit directly.

Starts the fast fake NIM and `rerankit serve` three times on it (`--workers 1`,
`--workers 2`, and `--workers 2` sharing state through a redis-server the scenario starts
on a free loopback port, without persistence), then measures: seconds from spawn to the
first answered rerank; resident memory idle; 32 connections posting a 20-document body, in
alternating rounds, straight to the upstream (the floor: NIM bodies on its NIM route) and
through each proxy (Cohere bodies on `/v2/rerank`); the median of the rounds for req/s,
p50, p99 and CPU per request (from /proc, the server's process tree: the proxy and its
workers, or the fake NIM for the floor; Redis's own CPU is reported apart); resident
memory after load. The Redis variant's load uses a virtual key with an `rpm` far above
what it can send, so every request pays for the shared window (one Lua script call to
Redis) without being refused. Without redis-server or the `redis` package, that variant is
left out with a note.

Load comes from wrk (`wrk -t2 -c32 -d10s`, a Lua script for the body), installed from
Debian's packages when missing (`--load wrk`, or `auto` outside quick mode). Without wrk
the aiohttp generator of `benchmarks/http_load.py` is the fallback; it shares the two
cores with the servers it measures, so its req/s are lower and its shares higher.

Skipped, with a note, when the proxy plugin (`rerankit_proxy`) is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.http_load import load as aiohttp_load
from benchmarks.http_load import rss_mib
from benchmarks.report import Result
from benchmarks.upstream import ROOT, UpstreamProcess, free_port
from benchmarks.workload import MODEL, NIM_PATH, QUERY, documents, nim_body, nim_headers, ratio
from benchmarks.wrk import ensure_wrk, run_wrk, tree_cpu_seconds
from tests.fakes.redis_server import RedisServer, start_redis

MASTER_KEY = "sk-bench-0123456789abcdef0123456789abcdef"
#: The Redis variant's key: an rpm no run reaches, so the window is paid for, never hit.
RPM_KEY = "sk-bench-rpm-0123456789abcdef0123456789ab"
RPM = 1_000_000_000
CONNECTIONS = 32
THREADS = 2
FIGURES = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")


def _first_answer(
    url: str,
    body: dict,
    process: subprocess.Popen[bytes],
    timeout: float,
    key: str = MASTER_KEY,
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rerankit serve exited with {process.returncode}")
        try:
            if httpx.post(url, json=body, headers=headers, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"rerankit serve did not answer within {timeout} s")


def _serve(config: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(config)]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    env = {**os.environ, "RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def redis_missing() -> str | None:
    """Why the Redis variant cannot run here, or None when it can."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (apt-get install -y redis-server)"
    if importlib.util.find_spec("redis") is None:
        return "the redis package is not installed (pip install 'rerankit-proxy[redis]')"
    return None


def _config(path: Path, upstream_url: str, redis_url: str | None = None) -> Path:
    text = (
        "model_list:\n"
        "  - model_name: rerank\n"
        f"    params: {{model: {MODEL}, api_base: '{upstream_url}'}}\n"
        f"general_settings: {{master_key: {MASTER_KEY}}}\n"
    )
    if redis_url is not None:
        text += f"keys: [{{name: bench, key: {RPM_KEY}, models: ['*'], rpm: {RPM}}}]\n"
        text += f"router_settings: {{redis_url: '{redis_url}'}}\n"
    path.write_text(text)
    return path


def choose_tool(requested: str, quick: bool) -> str:
    """`wrk` or `aiohttp`: `auto` uses wrk when present, installing it outside quick mode."""
    if requested == "aiohttp":
        return "aiohttp"
    if ensure_wrk(install=not quick or requested == "wrk"):
        return "wrk"
    if requested == "wrk":
        raise RuntimeError("wrk is not installed and `apt-get install -y wrk` did not work")
    return "aiohttp"


def measure_load(
    tool: str, quick: bool, url: str, body: dict, headers: dict[str, str], pid: int
) -> dict[str, Any]:
    """One load run against `url`, with the CPU used meanwhile by `pid`'s process tree."""
    cpu0 = tree_cpu_seconds(pid)
    if tool == "wrk":
        raw = json.dumps(body, separators=(",", ":")).encode()
        m = run_wrk(
            url, raw, headers, connections=CONNECTIONS, threads=THREADS, duration=1 if quick else 10
        )
        answered = m["n"]
    else:
        m = aiohttp_load(url, body, headers, concurrency=CONNECTIONS, calls=100 if quick else 4000)
        answered = m["n"] + CONNECTIONS  # its warm-up calls count on the server too
    m["cpu_ms_per_request"] = (tree_cpu_seconds(pid) - cpu0) * 1000 / max(1, answered)
    return m


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: statistics.median(r[k] for r in runs) for k in FIGURES}
    out["errors"] = sum(r["errors"] for r in runs)
    out["n"] = sum(r["n"] for r in runs)
    out["rounds"] = runs
    return out


def run(quick: bool, load: str = "auto") -> Result:
    """Floor vs proxy (1 worker, 2, 2 + Redis): req/s, p50/p99, CPU per request; startup; RSS."""
    result = Result(
        scenario="proxy",
        title=f"5. Proxy ({CONNECTIONS} connections, 20 docs of ~100 words)",
        columns=["figure", "rerankit proxy", "upstream direct", "x direct", "proxy --workers 2"],
    )
    if importlib.util.find_spec("rerankit_proxy") is None:
        result.skipped = "rerankit_proxy is not installed (pip install 'rerankit[proxy]')."
        return result
    tool = choose_tool(load, quick)
    rounds = 1 if quick else 3
    docs = documents(20)
    body = {"model": "rerank", "query": QUERY, "documents": docs}
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    rpm_auth = {"Authorization": f"Bearer {RPM_KEY}"}
    no_redis = redis_missing()
    load_before = os.getloadavg()
    servers: list[subprocess.Popen[bytes]] = []
    redis: RedisServer | None = None
    redis_cpu = 0.0
    with UpstreamProcess() as upstream, tempfile.TemporaryDirectory() as tmp:
        assert upstream.process is not None
        config = _config(Path(tmp) / "config.yaml", upstream.url)
        try:
            port1, port2 = free_port(), free_port()
            url1 = f"http://127.0.0.1:{port1}/v2/rerank"
            url2 = f"http://127.0.0.1:{port2}/v2/rerank"
            start = time.perf_counter()
            one = _serve(config, port1, 1)
            servers.append(one)
            _first_answer(url1, body, one, timeout=60)
            startup = time.perf_counter() - start
            time.sleep(1.0)
            idle = rss_mib(one.pid)
            two = _serve(config, port2, 2)
            servers.append(two)
            _first_answer(url2, body, two, timeout=60)
            targets: dict[str, Callable[[], dict[str, Any]]] = {
                "upstream_direct": lambda: measure_load(
                    tool,
                    quick,
                    upstream.url + NIM_PATH,
                    nim_body(QUERY, docs),
                    nim_headers(),
                    upstream.process.pid,  # type: ignore[union-attr]
                ),
                "proxy": lambda: measure_load(tool, quick, url1, body, auth, one.pid),
                "proxy_workers2": lambda: measure_load(tool, quick, url2, body, auth, two.pid),
            }
            warm = [(url1, auth), (url2, auth)]
            if no_redis is None:
                redis = start_redis(Path(tmp) / "redis")
                shared = _config(Path(tmp) / "shared.yaml", upstream.url, redis.url)
                port3 = free_port()
                url3 = f"http://127.0.0.1:{port3}/v2/rerank"
                three = _serve(shared, port3, 2)
                servers.append(three)
                _first_answer(url3, body, three, timeout=60, key=RPM_KEY)
                targets["proxy_workers2_redis"] = lambda: measure_load(
                    tool, quick, url3, body, rpm_auth, three.pid
                )
                warm.append((url3, rpm_auth))
            if tool == "wrk" and not quick:  # every worker warm before the clock starts
                for url, headers in warm:
                    run_wrk(
                        url,
                        json.dumps(body).encode(),
                        headers,
                        connections=CONNECTIONS,
                        threads=THREADS,
                        duration=2,
                    )
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
            redis_cpu0 = tree_cpu_seconds(redis.process.pid) if redis is not None else 0.0
            for _ in range(rounds):  # alternating: drift on a shared machine hits all alike
                for name, measure in targets.items():
                    runs[name].append(measure())
            if redis is not None:
                redis_cpu = tree_cpu_seconds(redis.process.pid) - redis_cpu0
            after = rss_mib(one.pid)
        finally:
            for process in servers:
                _stop(process)
            if redis is not None:
                redis.stop()
    load_after = os.getloadavg()
    medians = {name: _median(r) for name, r in runs.items()}
    direct, proxied, two_workers = (
        medians[n] for n in ("upstream_direct", "proxy", "proxy_workers2")
    )
    with_redis = medians.get("proxy_workers2_redis")
    result.data = {
        "tool": tool,
        "rounds": rounds,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "rps": proxied["rps"],
        "x_direct": ratio(proxied["rps"], direct["rps"]),
        "p99_ms": proxied["p99_ms"],
        "workers2_x_workers1": ratio(two_workers["rps"], proxied["rps"]),
        "startup_s": startup,
        "cpu_ms_per_request": proxied["cpu_ms_per_request"],
        "rss_idle_mib": idle,
        "rss_after_mib": after,
        "proxy": proxied,
        "proxy_workers2": two_workers,
        "upstream_direct": direct,
    }
    if with_redis is not None:
        answered = sum(r["n"] for r in runs["proxy_workers2_redis"])
        result.data["proxy_workers2_redis"] = with_redis
        result.data["redis_x_workers2"] = ratio(with_redis["rps"], two_workers["rps"])
        result.data["redis_server_cpu_ms_per_request"] = redis_cpu * 1000 / max(1, answered)
    if with_redis is not None:
        result.columns = [*result.columns, "proxy --workers 2 + Redis"]
    result.rows = []
    for label, k in (
        ("req/s", "rps"),
        ("p50 ms", "p50_ms"),
        ("p99 ms", "p99_ms"),
        ("server CPU ms per request", "cpu_ms_per_request"),
    ):
        row = [label, proxied[k], direct[k], ratio(proxied[k], direct[k]), two_workers[k]]
        result.rows.append(row + ([with_redis[k]] if with_redis is not None else []))
    blank = [None] * (len(result.columns) - 2)
    result.rows += [
        ["startup s (spawn to first answer)", startup, *blank],
        ["RSS idle MiB", idle, *blank],
        ["RSS after load MiB", after, *blank],
    ]
    generator = (
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{1 if quick else 10}s (Lua POST body)"
        if tool == "wrk"
        else "aiohttp (benchmarks/http_load.py; shares the CPU with the servers)"
    )
    variants = "direct, 1 worker, 2 workers" + (", 2 workers + Redis" if with_redis else "")
    result.notes.append(
        f"Load: {generator}; {rounds} alternating round(s) of {variants}; medians. Server CPU "
        "is the process tree's (fake NIM for the floor) from /proc."
    )
    if with_redis is not None:
        result.notes.append(
            f"2 workers + Redis: `router_settings.redis_url` to a redis-server of this run, "
            f"load with a key of rpm {RPM:,} (never reached: each request pays for the shared "
            f"window, one Lua call); --workers 2 + Redis is "
            f"{result.data['redis_x_workers2']:.2f}x --workers 2 in req/s; redis-server used "
            f"{result.data['redis_server_cpu_ms_per_request']:.3f} ms CPU per request "
            "besides the proxy's."
        )
    else:
        result.notes.append(f"2 workers + Redis not measured: {no_redis}.")
    before, after_ = (" / ".join(f"{x:.2f}" for x in la) for la in (load_before, load_after))
    result.notes.append(f"Load average (1/5/15 min) before: {before}; after: {after_}.")
    for name, m in medians.items():
        if m["errors"]:
            result.notes.append(f"{m['errors']} {name} answers were not 200.")
    return result
