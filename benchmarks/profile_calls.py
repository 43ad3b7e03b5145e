"""Profile rerankit's hot paths with pyinstrument against the fast fake NIM.

    uv run python benchmarks/profile_calls.py sync   [--calls 2000]
    uv run python benchmarks/profile_calls.py async  [--calls 3000] [--concurrency 16]
    uv run python benchmarks/profile_calls.py import
    uv run python benchmarks/profile_calls.py instructions [--calls 250]

`sync` profiles `rerankit.rerank`, `async` profiles `rerankit.arerank` at the given
concurrency, `import` profiles `import rerankit` plus resolving a provider; each prints
pyinstrument's call tree (rerankit's frames shown, library internals folded).

`instructions` counts the CPU instructions (user space, valgrind's callgrind) one call
takes in the client's process, for the sync and the async scenario's floor and rerankit:
each client runs `--calls` and a fifth of that, and the difference divided by the
difference in calls is the figure, so start-up and warm-up cancel out. Unlike time on a
shared machine it does not move with the load: use it to judge a change that saves a few
microseconds. Needs valgrind (`apt-get install valgrind`); the upstream runs natively.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import API_KEY, MODEL, QUERY, documents

#: What `instructions` compares: scenario -> (floor label, rerankit label).
_PAIRS = {
    "sync": ("httpx.Client.post (floor)", "rerankit.rerank"),
    "async": ("aiohttp session (floor)", "rerankit.arerank"),
}


def _run_calls(scenario: str, label: str, calls: int, url: str, concurrency: int) -> None:
    """`calls` calls of one client (after a warm-up): the process callgrind measures."""
    docs = documents(20)
    if scenario == "sync":
        from benchmarks.scenarios import sync_call

        funcs, close = sync_call.clients(url, docs)
        for _ in range(20 + calls):
            funcs[label]()
        close()
        return
    from benchmarks.clients import ASYNC_CLIENTS

    async def load() -> None:
        async with ASYNC_CLIENTS[label][0](url, docs) as call:
            await asyncio.gather(*(call() for _ in range(concurrency)))
            remaining = calls

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await call()

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(load())


def _instructions(scenario: str, label: str, calls: int, url: str, concurrency: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "_run",
        "--scenario",
        scenario,
        "--label",
        label,
        "--calls",
        str(calls),
        "--url",
        url,
        "--concurrency",
        str(concurrency),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def instructions(calls: int, concurrency: int) -> dict[str, Any]:
    """Instructions per call of each floor and of rerankit, and rerankit's multiple."""
    few = max(1, calls // 5)
    figures: dict[str, Any] = {}
    with UpstreamProcess() as upstream:
        for scenario, labels in _PAIRS.items():
            per_call = {}
            for label in labels:
                many = _instructions(scenario, label, calls, upstream.url, concurrency)
                base = _instructions(scenario, label, few, upstream.url, concurrency)
                per_call[label] = (many - base) / (calls - few)
                print(
                    f"{scenario:5s} {label:28s} {per_call[label] / 1000:8.0f} k instructions/call"
                )
            floor, subject = (per_call[label] for label in labels)
            print(f"{scenario:5s} rerankit x floor: {subject / floor:.3f}")
            figures[scenario] = {**per_call, "x_floor": subject / floor}
    return figures


def main() -> None:
    """Run the chosen profile and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["sync", "async", "import", "instructions", "_run"])
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--label", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path == "_run":
        _run_calls(args.scenario, args.label, args.calls, args.url, args.concurrency)
        return
    if args.path == "instructions":
        instructions(args.calls or 250, args.concurrency)
        return
    if args.calls is None:
        args.calls = 2000
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="disabled")
    if args.path == "import":
        profiler.start()
        import rerankit
        from rerankit.registry import default_registry

        default_registry().resolve(MODEL)
        profiler.stop()
        print(profiler.output_text(color=False, unicode=False))
        return
    import rerankit

    docs = documents(20)
    with UpstreamProcess() as upstream:
        base = upstream.url
        if args.path == "sync":
            for _ in range(50):
                rerankit.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)
            profiler.start()
            for _ in range(args.calls):
                rerankit.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)
            profiler.stop()
        else:

            async def load() -> None:
                remaining = args.calls

                async def worker() -> None:
                    nonlocal remaining
                    while remaining > 0:
                        remaining -= 1
                        await rerankit.arerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

                await asyncio.gather(*(worker() for _ in range(args.concurrency)))

            async def run() -> None:
                await load()  # warm: pool open, modules loaded
                profiler.start()
                await load()
                profiler.stop()

            asyncio.run(run())
    print(profiler.output_text(color=False, unicode=False))


if __name__ == "__main__":
    main()
