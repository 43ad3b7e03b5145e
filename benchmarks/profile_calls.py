"""Profile rerankit's hot paths with pyinstrument against the fast fake NIM.

    uv run python benchmarks/profile_calls.py sync   [--calls 2000]
    uv run python benchmarks/profile_calls.py async  [--calls 3000] [--concurrency 16]
    uv run python benchmarks/profile_calls.py import

`sync` profiles `rerankit.rerank`, `async` profiles `rerankit.arerank` at the given
concurrency, `import` profiles `import rerankit` plus resolving a provider; each prints
pyinstrument's call tree (rerankit's frames shown, library internals folded).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import API_KEY, MODEL, QUERY, documents


def main() -> None:
    """Run the chosen profile and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["sync", "async", "import"])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
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
