"""Scenario 3: async throughput at several concurrencies, rerankit vs bare async clients.

`concurrency` tasks share a fixed number of calls; requests/s is calls over wall time,
latencies are per call. Each client gets a fresh event loop and a warm-up.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from benchmarks.clients import ASYNC_CLIENTS, installed
from benchmarks.report import Result
from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import documents, ratio, summarize

FLOOR = "httpx.AsyncClient (floor)"
AIOHTTP = "aiohttp session (floor)"


#: A case stops at its call count or after this many seconds, whichever comes first, so
#: that a slow client (httpx at 256) cannot stretch the run.
TIME_CAP_S = 4.0


async def _load(factory: Any, base: str, docs: list[str], concurrency: int, calls: int) -> dict:
    async with factory(base, docs) as call:
        await asyncio.gather(*(call() for _ in range(min(concurrency, 100))))  # open the pool
        remaining = calls
        latencies: list[float] = []

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                start = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        deadline = start + TIME_CAP_S
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"rps": len(latencies) / wall, **summarize(latencies)}


def measure(label: str, base: str, docs: list[str], concurrency: int, calls: int) -> dict:
    """One client at one concurrency, in a fresh event loop."""
    factory, _module = ASYNC_CLIENTS[label]
    gc.collect()
    return asyncio.run(_load(factory, base, docs, concurrency, calls))


def run(quick: bool, concurrencies: tuple[int, ...] = (1, 16, 64, 256)) -> Result:
    """Every installed async client at every concurrency against one upstream process.

    Clients take turns, round after round; each figure is the round with the median
    requests/s, so that a burst of load from elsewhere on the machine hits all alike.
    """
    docs = documents(20)
    labels = [label for label, (_, module) in ASYNC_CLIENTS.items() if installed(module)]
    rounds = 1 if quick else 3
    if quick:
        concurrencies = (1, 16)
    data: dict[str, dict[str, Any]] = {}
    with UpstreamProcess() as upstream:
        for c in concurrencies:
            calls = 20 if quick else min(3000, max(300, 30 * c))
            samples: dict[str, list[dict]] = {label: [] for label in labels}
            for _ in range(rounds):
                for label in labels:
                    samples[label].append(measure(label, upstream.url, docs, c, calls))
            data[str(c)] = {
                label: sorted(s, key=lambda m: m["rps"])[len(s) // 2]
                for label, s in samples.items()
            }
    rows = []
    for c, by_label in data.items():
        floor, aio = by_label[FLOOR]["rps"], by_label.get(AIOHTTP, {}).get("rps", 0.0)
        for label, m in by_label.items():
            m["x_httpx"] = ratio(m["rps"], floor)
            m["x_aiohttp"] = ratio(m["rps"], aio)
            rows.append(
                [c, label, m["rps"], m["x_httpx"], m["x_aiohttp"], m["p50_ms"], m["p99_ms"]]
            )
    return Result(
        scenario="async",
        title="3. Async throughput (20 docs of ~100 words)",
        columns=["concurrency", "client", "req/s", "x httpx", "x aiohttp", "p50 ms", "p99 ms"],
        rows=rows,
        data=data,
        notes=[
            "x httpx / x aiohttp: requests/s as a multiple of the bare httpx.AsyncClient / "
            "bare aiohttp session at the same concurrency (both pools hold 100 connections).",
            f"Median of {rounds} interleaved rounds; each round stops at its call count or "
            f"after {TIME_CAP_S:.0f} s.",
        ],
    )
