"""Scenario 5: the rerankit proxy under load, against the upstream hit directly.

Starts `rerankit serve` (one worker) on the fast fake NIM and measures, in one run:
seconds from spawn to the first answered rerank; resident memory idle; 32 connections
posting a Cohere-style rerank body (20 documents) to the proxy's `/v2/rerank`, beside
the same load of NIM bodies sent straight to the upstream; resident memory after load.
The load generator (`benchmarks/http_load.py`) is the one the peers scenario points at
litellm's proxy, so the two proxies compare directly.

Skipped, with a note, when the proxy plugin (`rerankit_proxy`) is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.http_load import load, rss_mib
from benchmarks.report import Result
from benchmarks.scenarios.upstream_capacity import cpu_seconds
from benchmarks.upstream import ROOT, UpstreamProcess, free_port
from benchmarks.workload import MODEL, NIM_PATH, QUERY, documents, nim_body, nim_headers, ratio

MASTER_KEY = "sk-bench-0123456789abcdef0123456789abcdef"
CONNECTIONS = 32


def _first_answer(url: str, body: dict, process: subprocess.Popen[bytes], timeout: float) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
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


def run(quick: bool) -> Result:
    """Requests/s and p50/p99 at 32 connections; startup time; RSS idle and after load."""
    result = Result(
        scenario="proxy",
        title=f"5. Proxy ({CONNECTIONS} connections, 20 docs of ~100 words)",
        columns=["figure", "rerankit proxy", "upstream direct", "x direct"],
    )
    if importlib.util.find_spec("rerankit_proxy") is None:
        result.skipped = "rerankit_proxy is not installed (pip install 'rerankit[proxy]')."
        return result
    calls = 100 if quick else 4000
    docs = documents(20)
    body = {"model": "rerank", "query": QUERY, "documents": docs}
    with UpstreamProcess() as upstream, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: rerank\n"
            f"    params: {{model: {MODEL}, api_base: '{upstream.url}'}}\n"
            f"general_settings: {{master_key: {MASTER_KEY}}}\n"
        )
        port = free_port()
        command = [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(config)]
        command += ["--port", str(port), "--log-level", "warning"]
        env = {**os.environ, "RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy", "PYTHONPATH": str(ROOT)}
        url = f"http://127.0.0.1:{port}/v2/rerank"
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            _first_answer(url, body, process, timeout=60)
            startup = time.perf_counter() - start
            time.sleep(1.0)
            idle = rss_mib(process.pid)
            direct = load(
                upstream.url + NIM_PATH,
                nim_body(QUERY, docs),
                nim_headers(),
                concurrency=CONNECTIONS,
                calls=calls,
            )
            cpu0 = cpu_seconds(process.pid)
            proxied = load(
                url,
                body,
                {"Authorization": f"Bearer {MASTER_KEY}"},
                concurrency=CONNECTIONS,
                calls=calls,
            )
            # CPU per answer: unlike req/s, barely moved by other work on a shared machine.
            cpu_ms = (
                (cpu_seconds(process.pid) - cpu0) * 1000 / (proxied["n"] + CONNECTIONS)
            )  # + warm-up
            after = rss_mib(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    result.data = {
        "rps": proxied["rps"],
        "x_direct": ratio(proxied["rps"], direct["rps"]),
        "startup_s": startup,
        "cpu_ms_per_request": cpu_ms,
        "rss_idle_mib": idle,
        "rss_after_mib": after,
        "proxy": proxied,
        "upstream_direct": direct,
    }
    result.rows = [
        ["req/s", proxied["rps"], direct["rps"], result.data["x_direct"]],
        ["p50 ms", proxied["p50_ms"], direct["p50_ms"], ratio(proxied["p50_ms"], direct["p50_ms"])],
        ["p99 ms", proxied["p99_ms"], direct["p99_ms"], ratio(proxied["p99_ms"], direct["p99_ms"])],
        ["proxy CPU ms per request", cpu_ms, None, None],
        ["startup s (spawn to first answer)", startup, None, None],
        ["RSS idle MiB", idle, None, None],
        ["RSS after load MiB", after, None, None],
    ]
    if proxied["errors"]:
        result.notes.append(f"{proxied['errors']} proxy answers were not 200.")
    return result
