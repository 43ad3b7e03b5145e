"""What the cache costs and saves: `uv run python plugins/cache/benchmarks/bench_cache.py`.

1. The cache's own work per call, for each backend, with `timeit`: a miss (key, lookup)
   plus a store (encode, write), and a hit (key, lookup, decode), on calls of 20 and 100
   documents. Redis runs against a redis-server started here on a free loopback port.
2. A whole call through `rerankit.Client` and local/bm25: no cache, a miss and a hit.

Best of 5 repeats, per call, in microseconds. Needs redis-server on PATH for Redis.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import rerankit
from rerankit import Ranking, RerankResponse
from rerankit.lifecycle import CallContext
from rerankit_cache import ResponseCache

REPEAT = 5


def context(query: str, n_docs: int) -> CallContext:
    return CallContext(
        model="local/bm25",
        prefix="local",
        provider="Local BM25",
        provider_model="bm25",
        query=query,
        documents=tuple(f"document number {i} about gpu memory bandwidth" for i in range(n_docs)),
        params={},
        top_n=None,
        return_documents=True,
        api_base=None,
        score_kind="bm25",
        is_async=False,
    )


def finished(call: CallContext, n_docs: int) -> CallContext:
    call.ranking = Ranking(scores=[(i, 1.0 / (i + 1)) for i in range(n_docs)])
    call.response = RerankResponse(
        model="local/bm25", results=[], meta={"provider": "local", "score_kind": "bm25"}
    )
    return call


def per_call(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=REPEAT)) / number * 1e6


def hook_costs(cache: ResponseCache, n_docs: int, number: int) -> tuple[float, float]:
    """(miss + store, hit) in microseconds per call."""
    counter = iter(range(10**9))

    def miss_and_store() -> None:
        call = context(f"query {next(counter)}", n_docs)
        assert cache.rerank_cached_ranking(call) is None
        cache.rerank_call_finished(finished(call, n_docs))

    build = per_call(lambda: finished(context(f"q {next(counter)}", n_docs), n_docs), number)
    store = per_call(miss_and_store, number) - build  # the contexts' cost is not the cache's
    hit_call = context("the hit", n_docs)
    cache.rerank_cached_ranking(hit_call)
    cache.rerank_call_finished(finished(hit_call, n_docs))

    def hit() -> None:
        assert cache.rerank_cached_ranking(context("the hit", n_docs)) is not None

    plain = per_call(lambda: context("the hit", n_docs), number)
    return store, per_call(hit, number) - plain


def start_redis(folder: str) -> tuple[subprocess.Popen[bytes], int] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            folder,
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.01)
    process.kill()
    return None


def main() -> None:
    folder = tempfile.mkdtemp()
    redis = start_redis(folder)
    urls = {"memory": "memory://?max_entries=100000", "sqlite": f"sqlite://{folder}/b.db"}
    if redis is not None:
        urls["redis"] = f"redis://127.0.0.1:{redis[1]}/0"
    try:
        print(f"python {sys.version.split()[0]}, best of {REPEAT}, microseconds per call")
        print(f"{'backend':8} {'docs':>5} {'miss+store':>11} {'hit':>8}")
        for name, url in urls.items():
            for n_docs, number in ((20, 2000), (100, 1000)):
                cache = ResponseCache(url)
                store, hit = hook_costs(cache, n_docs, number)
                print(f"{name:8} {n_docs:5} {store:11.1f} {hit:8.1f}")
                cache.close()
        print()
        docs = [f"document {i} about gpu memory bandwidth and cats" for i in range(100)]
        print("whole call, local/bm25, 100 documents")
        with rerankit.Client() as client:
            plain = per_call(lambda: client.rerank("local/bm25", "gpu memory", docs), 300)
        print(f"  no cache           {plain:8.1f}")
        for name, url in urls.items():
            cache = ResponseCache(url)
            counter = iter(range(10**9))
            with rerankit.Client(plugins=[cache]) as client:
                miss = per_call(
                    lambda c=client, n=counter: c.rerank("local/bm25", f"gpu {next(n)}", docs),
                    300,
                )
                client.rerank("local/bm25", "gpu memory", docs)
                hit = per_call(lambda c=client: c.rerank("local/bm25", "gpu memory", docs), 300)
            print(f"  {name:8} miss {miss:8.1f}   hit {hit:8.1f}")
            cache.close()
    finally:
        if redis is not None:
            redis[0].kill()
            redis[0].wait()
        shutil.rmtree(Path(folder), ignore_errors=True)


if __name__ == "__main__":
    main()
