"""Runs inside benchmarks/.peers-venv: the peer gateway's SDK against the upstream.

`python benchmarks/peers_worker.py --upstream URL [--quick]` prints one JSON object:
import, sync per-call and async-at-16 figures for litellm, each beside the floor (bare
httpx / aiohttp) measured with the same interpreter. Imports nothing of rerankit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scenarios.imports import time_in_fresh_process
from benchmarks.workload import (
    API_KEY,
    MODEL,
    NIM_PATH,
    QUERY,
    documents,
    nim_body,
    nim_headers,
    summarize,
)

# litellm fetches a model price list from the internet at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def imports(repeats: int) -> dict[str, Any]:
    """Median in-process import time of httpx and of litellm, fresh processes."""
    cases = {"import httpx": "import httpx", "import litellm": "import litellm"}
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for label, code in cases.items():
            samples[label].append(time_in_fresh_process(code))
    return {label: statistics.median(s) * 1000 for label, s in samples.items()}


def sync(base: str, calls: int, block: int) -> dict[str, Any]:
    """litellm.rerank vs httpx.Client.post, interleaved in blocks."""
    import httpx
    import litellm

    docs = documents(20)
    url, body, headers = base + NIM_PATH, nim_body(QUERY, docs), nim_headers()
    bare = httpx.Client(timeout=60)

    def floor() -> Any:
        r = bare.post(url, json=body, headers=headers)
        r.raise_for_status()
        return r.json()

    def peer() -> Any:
        return litellm.rerank(
            model=MODEL, query=QUERY, documents=docs, api_base=base, api_key=API_KEY
        )

    funcs = {"httpx": floor, "litellm": peer}
    times: dict[str, list[float]] = {k: [] for k in funcs}
    for f in funcs.values():
        for _ in range(5):
            f()
    for _ in range(max(1, calls // block)):
        for label, f in funcs.items():
            for _ in range(block):
                start = time.perf_counter()
                f()
                times[label].append(time.perf_counter() - start)
    bare.close()
    return {label: summarize(t) for label, t in times.items()}


async def _async(base: str, concurrency: int, calls: int) -> dict[str, Any]:
    import aiohttp
    import httpx
    import litellm

    docs = documents(20)
    url, body, headers = base + NIM_PATH, nim_body(QUERY, docs), nim_headers()
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60) as hx, aiohttp.ClientSession() as aio:

        async def floor() -> Any:
            r = await hx.post(url, json=body, headers=headers)
            r.raise_for_status()
            return r.json()

        async def aio_floor() -> Any:
            async with aio.post(url, json=body, headers=headers) as r:
                return await r.json()

        async def peer() -> Any:
            return await litellm.arerank(
                model=MODEL, query=QUERY, documents=docs, api_base=base, api_key=API_KEY
            )

        for label, call in (("httpx", floor), ("aiohttp", aio_floor), ("litellm", peer)):
            await asyncio.gather(*(call() for _ in range(concurrency)))
            remaining = calls
            latencies: list[float] = []

            async def worker(call: Any = call, latencies: list[float] = latencies) -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    start = time.perf_counter()
                    await call()
                    latencies.append(time.perf_counter() - start)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall = time.perf_counter() - start
            results[label] = {"rps": len(latencies) / wall, **summarize(latencies)}
    return results


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    out = {
        "import": imports(1 if quick else 3),
        "sync": sync(args.upstream, 10 if quick else 200, 10 if quick else 25),
        "async16": asyncio.run(_async(args.upstream, 16, 20 if quick else 1000)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
