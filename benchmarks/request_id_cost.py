"""What the deployment middleware costs per request: x-request-id (middleware plus its
life-cycle plugin on the upstream call) and CORS, against the bare `ProxyApp`.

In process, without sockets: the ASGI app is called directly with a 20-document
`/v2/rerank` request; the upstream is an `httpx.MockTransport` answering like a NIM.
Batches of the variants alternate, timed in CPU seconds of this process (other work on
the shared machine then disturbs less); the best batch of each is the figure.

    uv run python benchmarks/request_id_cost.py [--batches 40] [--size 200]

`--http` measures the same through sockets instead: the fast fake NIM, and two uvicorn
servers with the options `rerankit serve` uses, one serving the bare app and one the
wrapped app, loaded in alternating wrk rounds (32 connections); the figures are the
median req/s, p99 and CPU milliseconds per request of each server process.

    uv run python -m benchmarks.request_id_cost --http [--rounds 5] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from rerankit.plugins import unregister_plugin
from rerankit_proxy import create_app, parse_config
from rerankit_proxy.stack import PLUGIN_NAME, wrap

MASTER = "sk-bench-master-key"
DOCS = [f"document number {n} about gpu memory bandwidth" for n in range(20)]
BODY = json.dumps({"model": "m", "query": "gpu memory", "documents": DOCS}).encode()
ANSWER = json.dumps({"rankings": [{"index": n, "logit": -n / 10} for n in range(20)]}).encode()


def _upstream(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=ANSWER, headers={"content-type": "application/json"})


def _config(cors: bool) -> Any:
    general: dict[str, Any] = {"master_key": MASTER}
    if cors:
        general["cors"] = {"allow_origins": ["https://app.example.com"]}
    return parse_config(
        {
            "model_list": [
                {
                    "model_name": "m",
                    "params": {
                        "model": "nvidia_nim/ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2",
                        "api_base": "http://upstream.invalid",
                    },
                }
            ],
            "general_settings": general,
        },
        source="bench",
    )


def _scope(origin: bool) -> dict[str, Any]:
    headers = [
        (b"host", b"proxy"),
        (b"authorization", f"Bearer {MASTER}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    if origin:
        headers.append((b"origin", b"https://app.example.com"))
    return {
        "type": "http",
        "method": "POST",
        "path": "/v2/rerank",
        "raw_path": b"/v2/rerank",
        "query_string": b"",
        "headers": headers,
    }


async def _batch(app: Any, scope: dict[str, Any], size: int) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(size):
        await app(scope, receive, send)
    elapsed = time.process_time() - started
    assert set(statuses) == {200}, statuses
    return elapsed / size


async def main(batches: int, size: int) -> None:
    transport = httpx.MockTransport(_upstream)
    bare = create_app(_config(False), transport=transport)
    with_id = create_app(_config(False), transport=transport)
    with_cors = create_app(_config(True), transport=transport)
    for app in (bare, with_id, with_cors):
        await app.startup()
    variants = {
        "bare ProxyApp": (bare, _scope(False), False),
        "+ x-request-id": (wrap(with_id), _scope(False), True),
        "+ x-request-id + CORS (Origin sent)": (wrap(with_cors), _scope(True), True),
    }
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(batches):
        for name, (app, scope, plugin) in variants.items():
            if not plugin:  # the bare app's upstream calls run without the id's plugin
                unregister_plugin(name=PLUGIN_NAME)
            else:
                wrap(with_id)  # registers it again (idempotent)
            best[name] = min(best[name], await _batch(app, scope, size))
    for app in (bare, with_id, with_cors):
        await app.shutdown()
    base = best["bare ProxyApp"]
    for name, seconds in best.items():
        print(f"{name:40s} {seconds * 1e6:8.1f} µs/request  (+{(seconds - base) * 1e6:.1f} µs)")


def _serve(variant: str, port: int, upstream: str) -> None:
    """Serve the bare or the wrapped app as `rerankit serve` would (one worker)."""
    import uvicorn

    from rerankit_proxy import http_guard

    config = _config(False)
    deployment = config.deployments[0]
    from dataclasses import replace

    config = replace(config, deployments=(replace(deployment, api_base=upstream),))
    http_guard.configure(config.server)
    app: Any = create_app(config)
    if variant == "wrapped":
        app = wrap(app)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
        http=http_guard.GuardedHttpToolsProtocol,
        ws="none",
    )


def http_main(rounds: int, seconds: float) -> None:
    import statistics
    import subprocess
    import sys

    from benchmarks.upstream import UpstreamProcess, free_port
    from benchmarks.wrk import run_wrk, tree_cpu_seconds

    headers = {"Authorization": f"Bearer {MASTER}"}
    with UpstreamProcess() as upstream:
        servers = {}
        try:
            for variant in ("bare", "wrapped"):
                port = free_port()
                command = [sys.executable, "-m", "benchmarks.request_id_cost"]
                command += ["--serve", variant, "--port", str(port), "--upstream", upstream.url]
                servers[variant] = (subprocess.Popen(command), f"http://127.0.0.1:{port}/v2/rerank")
            for process, url in servers.values():
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.post(url, content=BODY, headers=headers).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline
                    assert process.poll() is None
                    time.sleep(0.1)
                run_wrk(url, BODY, headers, duration=2)  # warm
            runs: dict[str, list[dict[str, float]]] = {v: [] for v in servers}
            for _ in range(rounds):
                for variant, (process, url) in servers.items():
                    cpu = tree_cpu_seconds(process.pid)
                    m = run_wrk(url, BODY, headers, duration=seconds)
                    answered = max(1, m["n"] - m["errors"])
                    m["cpu_ms"] = (tree_cpu_seconds(process.pid) - cpu) * 1000 / answered
                    runs[variant].append(m)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(10)
    for variant, measured in runs.items():
        rps = statistics.median(m["rps"] for m in measured)
        p99 = statistics.median(m["p99_ms"] for m in measured)
        cpu = statistics.median(m["cpu_ms"] for m in measured)
        print(f"{variant:8s} {rps:8.0f} req/s  p99 {p99:6.1f} ms  {cpu:.3f} CPU ms/request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--serve", choices=["bare", "wrapped"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port, args.upstream)
    elif args.http:
        http_main(args.rounds, args.seconds)
    else:
        asyncio.run(main(args.batches, args.size))
