"""A small load generator (aiohttp) and process measurements, for servers under test.

`load()` keeps `concurrency` requests in flight until `calls` have completed and
reports requests/s and latency percentiles; `rss_mib()` is the resident memory of a
process and its descendants.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from benchmarks.workload import summarize


async def _load(
    url: str, body: Any, headers: dict[str, str], concurrency: int, calls: int
) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    remaining = calls
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            nonlocal errors
            start = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the pool

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one()

        latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"rps": len(latencies) / wall, "errors": errors, **summarize(latencies)}


def load(
    url: str, body: Any, headers: dict[str, str], *, concurrency: int, calls: int
) -> dict[str, Any]:
    """POST `body` to `url` `calls` times, `concurrency` at once; req/s, p50/p99, errors."""
    return asyncio.run(_load(url, body, headers, concurrency, calls))


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MiB (Linux /proc)."""
    total_kib = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        proc = Path(f"/proc/{current}")
        try:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
            for task in (proc / "task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total_kib / 1024
