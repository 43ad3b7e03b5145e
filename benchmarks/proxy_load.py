"""Load through the rerankit proxy next to the same load sent straight to the fake NIM.

Starts the fake NIM (tests/fakes/nim_server.py) and `rerankit serve` as subprocesses on
127.0.0.1, then, in the same run:

1. start-up: seconds from spawning `rerankit serve` to its first answered rerank;
2. resident memory of the proxy when idle;
3. the floor: 32 connections posting a 20-passage NIM body straight to the fake NIM;
4. the proxy: the same load through the proxy's `/v1/ranking` (and `/v2/rerank`);
5. resident memory of the proxy after the load.

Load comes from wrk (Debian: `apt-get install -y wrk`) with a Lua script for the POST
body; without wrk, a bounded asyncio load generator in this file is used (it shares the
CPU with what it measures, so its numbers are lower). Run from the repository root:

    uv run python benchmarks/proxy_load.py [--duration 10] [--connections 32] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import quantiles

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import wrk

ROOT = Path(__file__).resolve().parents[1]
MASTER = "sk-bench-master-key"
MODEL = "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"
QUERY = "What is the GPU memory bandwidth of H100 SXM?"
DOCUMENTS = [
    f"Passage {i}: accelerated servers with H100 deliver 3 terabytes per second of memory "
    f"bandwidth per GPU, A100 offers 2TB/s and V100 900GB/s (variant {i})."
    for i in range(20)
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and its children (workers), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return total / 1024


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def bodies() -> dict[str, bytes]:
    nim = {
        "model": "rerank",
        "query": {"text": QUERY},
        "passages": [{"text": d} for d in DOCUMENTS],
    }
    cohere = {"model": "rerank", "query": QUERY, "documents": DOCUMENTS}
    return {"nim": json.dumps(nim).encode(), "cohere": json.dumps(cohere).encode()}


def run_wrk(
    url: str, path: str, body: bytes, connections: int, duration: float
) -> dict[str, float]:
    """`wrk -t2` through `benchmarks/wrk.py`, with the master key."""
    auth = {"Authorization": f"Bearer {MASTER}"}
    return wrk.run_wrk(url + path, body, auth, connections=connections, duration=duration)


async def python_load(
    host: str, port: int, path: str, body: bytes, connections: int, duration: float
) -> dict[str, float]:
    """A bounded keep-alive HTTP/1.1 load generator on raw asyncio streams."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {MASTER}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
            latencies.append(time.perf_counter() - started)
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    cuts = quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
        "requests": len(latencies),
        "errors": errors,
    }


def load(
    tool: str, port: int, path: str, body: bytes, connections: int, duration: float
) -> dict[str, float]:
    if tool == "wrk":
        return run_wrk(f"http://127.0.0.1:{port}", path, body, connections, duration)
    return asyncio.run(python_load("127.0.0.1", port, path, body, connections, duration))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="proxy worker processes")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    tool = (
        args.tool if args.tool != "auto" else ("wrk" if wrk.ensure_wrk(install=True) else "python")
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nim_port, proxy_port = free_port(), free_port()
    nim = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.nim_server", "--port", str(nim_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    work = Path(tempfile.mkdtemp())
    config = work / "config.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: rerank\n"
        f"    params: {{model: {MODEL}, api_base: 'http://127.0.0.1:{nim_port}'}}\n"
        f"general_settings: {{master_key: {MASTER}}}\n"
    )
    proxy: subprocess.Popen[bytes] | None = None
    try:
        wait_for(f"http://127.0.0.1:{nim_port}/v1/health/ready")
        payload = bodies()
        # One client made before the clock starts: creating one per poll costs more CPU
        # (an SSL context each) than the proxy's own start-up, on a small machine.
        poller = httpx.Client(headers={"Authorization": f"Bearer {MASTER}"}, timeout=5)
        started = time.perf_counter()
        proxy = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rerankit.cli",
                "serve",
                "--config",
                str(config),
                "--port",
                str(proxy_port),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env={**env, "RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"},
        )
        while True:
            try:
                r = poller.post(f"http://127.0.0.1:{proxy_port}/v1/ranking", content=payload["nim"])
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.005)
        startup = time.perf_counter() - started
        poller.close()
        time.sleep(1)
        idle = rss_mib(proxy.pid)
        c, d = args.connections, args.duration
        direct = load(tool, nim_port, "/v1/ranking", payload["nim"], c, d)
        via_nim = load(tool, proxy_port, "/v1/ranking", payload["nim"], c, d)
        via_cohere = load(tool, proxy_port, "/v2/rerank", payload["cohere"], c, d)
        loaded = rss_mib(proxy.pid)
    finally:
        for process in (proxy, nim):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    results = {
        "tool": tool,
        "connections": args.connections,
        "documents": len(DOCUMENTS),
        "proxy_workers": args.workers,
        "startup_to_first_answer_s": round(startup, 3),
        "proxy_rss_idle_mib": round(idle, 1),
        "proxy_rss_after_load_mib": round(loaded, 1),
        "direct_fake_nim": direct,
        "proxy_v1_ranking": via_nim,
        "proxy_v2_rerank": via_cohere,
        "proxy_share_of_direct": round(via_nim["rps"] / direct["rps"], 3),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"load: {tool}, {c} connections, {d:g} s each, {len(DOCUMENTS)} documents per request")
    print(f"{'target':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, row in (
        ("fake NIM, direct", direct),
        ("proxy /v1/ranking", via_nim),
        ("proxy /v2/rerank", via_cohere),
    ):
        print(
            f"{name:<24}{row['rps']:>10.0f}{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}"
            f"{row['errors']:>8}"
        )
    print(f"proxy throughput: {results['proxy_share_of_direct']:.0%} of direct")
    print(f"start-up to first answer: {startup:.2f} s")
    print(f"proxy RSS: {idle:.1f} MiB idle, {loaded:.1f} MiB after load")


if __name__ == "__main__":
    main()
