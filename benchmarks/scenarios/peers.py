"""Scenario 6: the most-used gateway (litellm), its SDK and its proxy, in its own venv.

litellm is never a dependency of rerankit: `run.py --install-peers` creates
benchmarks/.peers-venv and installs `litellm[proxy]` there; without that venv this
scenario is skipped. The SDK figures come from `peers_worker.py` run by the venv's
interpreter (floors measured with that same interpreter); the proxy is started from the
venv and loaded by the same load generator as rerankit's proxy (`proxy.choose_tool`: wrk
where it is installed), with its CPU per request counted the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.http_load import rss_mib
from benchmarks.report import Result
from benchmarks.scenarios.proxy import choose_tool, measure_load
from benchmarks.upstream import ROOT, UpstreamProcess, free_port, wait_for_port
from benchmarks.workload import MODEL, NIM_PATH, QUERY, documents, nim_body, nim_headers, ratio

VENV = ROOT / "benchmarks" / ".peers-venv"
PYTHON = VENV / "bin" / "python"
PEER = "litellm[proxy]"
#: The proxy refuses to start without one; requests then carry it.
MASTER_KEY = "sk-bench-0123456789abcdef0123456789abcdef"
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}


def install() -> None:
    """Create the peers venv with uv (or venv + pip) and install the peer into it."""
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", str(VENV), "--python", sys.executable], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(PYTHON), PEER], check=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", PEER], check=True)


def proxy(upstream: str, quick: bool, tool: str) -> dict[str, Any]:
    """Start litellm's proxy on the upstream; startup, RSS idle/after load, load at 32."""
    config = (
        "model_list:\n"
        "  - model_name: nvidia-rerank\n"
        "    litellm_params:\n"
        f"      model: {MODEL}\n"
        "      api_key: nvapi-bench-not-a-secret\n"
        f"      api_base: {upstream}\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "litellm.yaml"
        path.write_text(config)
        command = [str(VENV / "bin" / "litellm"), "--config", str(path), "--port", str(port)]
        env = {**os.environ, **ENV}
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp
        )
        try:
            wait_for_port(port, process, timeout=120)
            startup = time.perf_counter() - start
            time.sleep(1.0)
            idle = rss_mib(process.pid)
            body = {"model": "nvidia-rerank", "query": QUERY, "documents": documents(20)}
            url = f"http://127.0.0.1:{port}/rerank"
            auth = {"Authorization": f"Bearer {MASTER_KEY}"}
            measured = measure_load(tool, quick, url, body, auth, process.pid)
            after = rss_mib(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return {"startup_s": startup, "rss_idle_mib": idle, "rss_after_mib": after, **measured}


def run(quick: bool, install: bool, load: str = "auto") -> Result:
    """litellm's SDK (import, sync, async at 16) and proxy, each beside its floor."""
    result = Result(
        scenario="peers",
        title="6. Peers: litellm SDK and proxy (separate venv)",
        columns=["figure", "litellm", "floor", "x floor"],
    )
    if install and not PYTHON.exists():
        globals()["install"]()
    if not PYTHON.exists():
        result.skipped = "no benchmarks/.peers-venv: run with --install-peers to measure litellm."
        return result
    tool = choose_tool(load, quick)
    with UpstreamProcess() as upstream:
        assert upstream.process is not None
        worker = subprocess.run(
            [str(PYTHON), str(ROOT / "benchmarks" / "peers_worker.py"), "--upstream", upstream.url]
            + (["--quick"] if quick else []),
            capture_output=True,
            text=True,
            env={**os.environ, **ENV},
            check=True,
        )
        sdk = json.loads(worker.stdout.strip().splitlines()[-1])
        body = nim_body(QUERY, documents(20))
        direct = measure_load(
            tool, quick, upstream.url + NIM_PATH, body, nim_headers(), upstream.process.pid
        )
        gateway = proxy(upstream.url, quick, tool)
    gateway["x_direct"] = ratio(gateway["rps"], direct["rps"])
    result.data = {**sdk, "proxy": gateway, "upstream_direct": direct}
    imp, syn, a16 = sdk["import"], sdk["sync"], sdk["async16"]
    result.rows = [
        [
            "import litellm, ms (floor: import httpx)",
            imp["import litellm"],
            imp["import httpx"],
            ratio(imp["import litellm"], imp["import httpx"]),
        ],
        [
            "sync rerank mean ms (floor: httpx.Client)",
            syn["litellm"]["mean_ms"],
            syn["httpx"]["mean_ms"],
            ratio(syn["litellm"]["mean_ms"], syn["httpx"]["mean_ms"]),
        ],
        [
            "async req/s at 16 (floor: httpx.AsyncClient)",
            a16["litellm"]["rps"],
            a16["httpx"]["rps"],
            ratio(a16["litellm"]["rps"], a16["httpx"]["rps"]),
        ],
        [
            "async req/s at 16 (floor: aiohttp)",
            a16["litellm"]["rps"],
            a16["aiohttp"]["rps"],
            ratio(a16["litellm"]["rps"], a16["aiohttp"]["rps"]),
        ],
        [
            "proxy req/s at 32 (floor: upstream direct)",
            gateway["rps"],
            direct["rps"],
            gateway["x_direct"],
        ],
        ["proxy p50 ms at 32", gateway["p50_ms"], direct["p50_ms"], None],
        ["proxy p99 ms at 32", gateway["p99_ms"], direct["p99_ms"], None],
        [
            "proxy server CPU ms per request",
            gateway["cpu_ms_per_request"],
            direct["cpu_ms_per_request"],
            ratio(gateway["cpu_ms_per_request"], direct["cpu_ms_per_request"]),
        ],
        ["proxy startup s", gateway["startup_s"], None, None],
        ["proxy RSS idle MiB", gateway["rss_idle_mib"], None, None],
        ["proxy RSS after load MiB", gateway["rss_after_mib"], None, None],
    ]
    how = f"wrk -t2 -c32 -d{1 if quick else 10}s" if tool == "wrk" else "aiohttp, 32 at a time"
    result.notes.append(
        f"Proxy load: {how}, the same tool and CPU count as rerankit's proxy scenario."
    )
    if gateway["errors"]:
        result.notes.append(f"{gateway['errors']} litellm proxy answers were not 200.")
    return result
