"""CPU per request of the proxy's ASGI app alone, driven in-process (no HTTP server).

    uv run python benchmarks/proxy_app_cpu.py [--requests 20000] [--concurrency 32] [--profile]

Starts the fast fake NIM in its own process, builds the proxy app for it (the proxy
scenario's config), and calls the app directly with ASGI messages: the proxy scenario's
20-document Cohere body on `/v2/rerank`, `--concurrency` requests at a time. Prints the
app's CPU per request (this process's CPU time: the app, core and the aiohttp upstream
client, without uvicorn and without the load generator's own sockets), best of
`--repeat` runs. Being one process measured by its own CPU clock, it moves much less
with the machine's load than a wrk run does: the tool for small A/B steps, to be
confirmed with `benchmarks/proxy_ab.py` under wrk. `--profile` prints cProfile's top
functions by own time instead; `--core-only` calls the app's rerankit client directly, as
the router does, so that the difference is the proxy's own code. `--stack` serves the app
wrapped as `rerankit serve` runs it (`stack.wrap`: the request-id middleware, and its
life-cycle plugin registered, so core builds the contexts hooks see); with `--core-only`
it registers that plugin only.

For figures the machine's load cannot move, count instructions instead of time: run it
under `valgrind --tool=cachegrind --cache-sim=no` with `--warm 64 --repeat 1 --no-gc` and
`--requests 320`, then `1280`; the difference in instructions over 960 is per request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scenarios.proxy import MASTER_KEY
from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import MODEL, QUERY, documents


async def drive(app: Any, body: bytes, requests: int, concurrency: int) -> float:
    """Send `requests` requests through `app`; the CPU seconds they took."""
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {MASTER_KEY}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v2/rerank",
        "raw_path": b"/v2/rerank",
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 4000),
        # As the proxy's HTTP protocol marks a body that arrived whole with its head.
        "rerankit.body_received": True,
    }
    message = {"type": "http.request", "body": body, "more_body": False}
    failures = 0

    async def receive() -> dict[str, Any]:
        return message

    async def one() -> None:
        nonlocal failures
        status = 0

        async def send(event: dict[str, Any]) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]

        await app(dict(scope), receive, send)
        if status != 200:
            failures += 1

    async def worker(n: int) -> None:
        for _ in range(n):
            await one()

    per = requests // concurrency
    started = time.process_time()
    await asyncio.gather(*(worker(per) for _ in range(concurrency)))
    spent = time.process_time() - started
    if failures:
        raise RuntimeError(f"{failures} requests were not answered 200")
    return spent / (per * concurrency)


async def drive_core(app: Any, requests: int, concurrency: int, response: bool) -> float:
    """Send `requests` calls through the app's rerankit client alone, as its router
    does; the CPU seconds per call (the core's and the upstream client's share)."""
    client = app.router.client
    # The router's call (plain data), or with `--response` the SDK's `rerank`.
    call = client.rerank if response else client.rerank_answer
    deployment = app.config.deployments[0]
    docs = documents(20)

    async def worker(n: int) -> None:
        for _ in range(n):
            await call(
                deployment.model,
                QUERY,
                docs,
                top_n=None,
                return_documents=False,
                api_key=deployment.api_key,
                api_base=deployment.api_base,
                timeout=30.0,
                max_retries=0,
            )

    per = requests // concurrency
    started = time.process_time()
    await asyncio.gather(*(worker(per) for _ in range(concurrency)))
    return (time.process_time() - started) / (per * concurrency)


async def run(upstream_url: str, args: argparse.Namespace) -> None:
    from rerankit_proxy.config_reader import load_config
    from rerankit_proxy.endpoints import create_app

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(
            "model_list:\n"
            "  - model_name: rerank\n"
            f"    params: {{model: {MODEL}, api_base: '{upstream_url}'}}\n"
            f"general_settings: {{master_key: {MASTER_KEY}}}\n"
        )
        app = create_app(load_config(str(path)))
    served: Any = app
    if args.stack:  # as `rerankit serve` runs it
        from rerankit_proxy.stack import wrap

        served = wrap(app)
    body = json.dumps({"model": "rerank", "query": QUERY, "documents": documents(20)}).encode()
    await app.startup()
    try:
        if args.warm:
            await drive(served, body, args.warm, args.concurrency)  # pool, caches
        if args.no_gc:  # an instruction count without the collector's lumpy passes
            gc.collect()
            gc.disable()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            if args.core_only:
                await drive_core(app, args.requests, args.concurrency, args.response)
            else:
                await drive(served, body, args.requests, args.concurrency)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("tottime")
            stats.print_stats(args.top)
            return
        runs = []
        for _ in range(args.repeat):
            if args.core_only:
                runs.append(await drive_core(app, args.requests, args.concurrency, args.response))
            else:
                runs.append(await drive(served, body, args.requests, args.concurrency))
    finally:
        await app.shutdown()
    each = " ".join(f"{r * 1000:.4f}" for r in runs)
    what = "core-only CPU ms per call" if args.core_only else "app CPU ms per request"
    print(f"{what}: best {min(runs) * 1000:.4f} (runs: {each})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warm", type=int, default=2000, help="requests before measuring")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument(
        "--core-only",
        action="store_true",
        help="call the app's rerankit client directly, as the router does (no proxy code)",
    )
    parser.add_argument(
        "--stack",
        action="store_true",
        help="serve the app as `rerankit serve` wraps it (request-id middleware and plugin)",
    )
    parser.add_argument(
        "--response",
        action="store_true",
        help="with --core-only: call `rerank` (a RerankResponse), not `rerank_answer`",
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--no-gc",
        action="store_true",
        help="collect, then turn the garbage collector off, before measuring",
    )
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with UpstreamProcess() as upstream:
        asyncio.run(run(upstream.url, args))


if __name__ == "__main__":
    main()
