"""Reliability benchmark: concurrent chunking and retries against the fake NIM.

Runs the fake NIM (tests/fakes/nim_server.py) in a separate process on 127.0.0.1 so that
its CPU time does not share the client's interpreter, then measures:

(a) 10,000 documents, NIM's 512-per-request limit (20 chunks), 50 ms simulated latency per
    request: wall time per call for several `max_concurrency` values, sync and async;
    the ideal is ceil(20 / concurrency) x 50 ms.
(b) 30% of upstream requests failing (a 429 with `Retry-After: 0` / 503 mix), same 50 ms
    latency: the share of calls that succeed with the default retries (max_retries=2),
    and the latency they add compared with a healthy upstream, for small (one-request)
    calls and for 10,000-document (20-request) calls.

Run from the repository root:

    uv run python benchmarks/reliability.py [--repeats 5] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

import rerankit
from rerankit.errors import ProviderError

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
KEY = "bench-key"
QUERY = "memory bandwidth of the H100 GPU"
LATENCY = 0.05
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def corpus(n: int) -> list[str]:
    words = ["memory", "bandwidth", "H100", "GPU", "of", "cooking", "A100", "the", "tensor"]
    return [
        " ".join(words[(i * 7 + k) % len(words)] for k in range(i % 5 + 1)) + f" #{i}"
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fake_nim(latency: float, failure_rate: float = 0.0, seed: int = 1) -> Iterator[str]:
    """A fake NIM in its own process; yields its base URL."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "tests.fakes.nim_server", "--port", str(port),
        "--latency", str(latency), "--failure-rate", str(failure_rate),
        "--api-key", KEY, "--seed", str(seed),
    ]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/v1/health/ready", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bench_concurrency(repeats: int) -> None:
    docs = corpus(10_000)
    print("\n(a) 10,000 documents, 512 per request (20 chunks), 50 ms latency per request")
    print("| client | max_concurrency | median wall time | ideal ceil(20/c) x 50 ms |")
    print("|---|---|---|---|")
    with fake_nim(LATENCY) as url:
        with rerankit.Client() as client:
            client.rerank(MODEL, QUERY, docs[:10], api_base=url, api_key=KEY)  # warm up
            for concurrency in (1, 2, 4, 8, 16, 20):
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.rerank(
                        MODEL, QUERY, docs, api_base=url, api_key=KEY,
                        max_concurrency=concurrency,
                    )  # fmt: skip
                    times.append(time.perf_counter() - started)
                ideal = math.ceil(20 / concurrency) * LATENCY * 1000
                print(f"| sync | {concurrency} | {median_ms(times):.0f} ms | {ideal:.0f} ms |")

        async def run_async() -> None:
            async with rerankit.AsyncClient() as client:
                await client.rerank(MODEL, QUERY, docs[:10], api_base=url, api_key=KEY)
                for concurrency in (1, 2, 4, 8, 16, 20):
                    times = []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        await client.rerank(
                            MODEL, QUERY, docs, api_base=url, api_key=KEY,
                            max_concurrency=concurrency,
                        )  # fmt: skip
                        times.append(time.perf_counter() - started)
                    ideal = math.ceil(20 / concurrency) * LATENCY * 1000
                    print(f"| async | {concurrency} | {median_ms(times):.0f} ms | {ideal:.0f} ms |")

        asyncio.run(run_async())

    # The CPU floor: the same calls without simulated latency (JSON encoding and parsing of
    # 10,000 passages on both sides), which no concurrency can beat on this machine.
    with fake_nim(0.0) as url, rerankit.Client() as client:
        client.rerank(MODEL, QUERY, docs[:10], api_base=url, api_key=KEY)
        for concurrency in (1, 8):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.rerank(
                    MODEL, QUERY, docs, api_base=url, api_key=KEY, max_concurrency=concurrency
                )
                times.append(time.perf_counter() - started)
            print(
                f"| sync, no latency (CPU floor) | {concurrency} | {median_ms(times):.0f} ms | - |"
            )


def run_calls(
    url: str, docs: list[str], calls: int, retries: int
) -> tuple[int, list[float], list[int]]:
    """`calls` sequential calls with `retries` retries; successes, their times, attempts."""
    ok = 0
    times: list[float] = []
    attempts: list[int] = []
    with rerankit.Client(max_retries=retries) as client:
        for _ in range(calls):
            started = time.perf_counter()
            try:
                r = client.rerank(MODEL, QUERY, docs, api_base=url, api_key=KEY)
            except ProviderError:
                continue
            times.append(time.perf_counter() - started)
            attempts.append(r.meta.attempts or 0)
            ok += 1
    return ok, times, attempts


def bench_failures(calls: int, large_calls: int) -> None:
    print("\n(b) 30% of upstream requests fail (429 Retry-After: 0 / 503 mix), 50 ms latency,")
    print("    backoff 0.5 s full jitter (default), max_retries 2 (default) or 4")
    print("| call | upstream | max_retries | calls | succeeded | mean | p50 | p95 | requests |")
    print("|---|---|---|---|---|---|---|---|---|")
    small, large = corpus(20), corpus(10_000)
    cases = [
        ("20 docs", small, calls, "healthy", 0.0, 2),
        ("20 docs", small, calls, "30% failing", 0.3, 2),
        ("10,000 docs", large, large_calls, "healthy", 0.0, 2),
        ("10,000 docs", large, large_calls, "30% failing", 0.3, 2),
        ("10,000 docs", large, large_calls, "30% failing", 0.3, 4),
    ]
    for label, docs, n, name, rate, retries in cases:
        with fake_nim(LATENCY, rate) as url:
            ok, times, attempts = run_calls(url, docs, n, retries)
        p95 = sorted(times)[int(0.95 * (len(times) - 1))] * 1000 if times else float("nan")
        mean = statistics.fmean(times) * 1000 if times else float("nan")
        per_call = statistics.fmean(attempts) if attempts else float("nan")
        print(
            f"| {label} | {name} | {retries} | {n} | {ok / n:.1%} | {mean:.0f} ms | "
            f"{median_ms(times):.0f} ms | {p95:.0f} ms | {per_call:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="calls per concurrency (a)")
    parser.add_argument("--calls", type=int, default=300, help="small calls per upstream (b)")
    parser.add_argument("--large-calls", type=int, default=30, help="10k calls per upstream (b)")
    parser.add_argument("--only", choices=("a", "b"), help="run one of the two measurements")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, httpx {httpx.__version__}, {os.cpu_count()} CPUs")
    if args.only in (None, "a"):
        bench_concurrency(args.repeats)
    if args.only in (None, "b"):
        bench_failures(args.calls, args.large_calls)


if __name__ == "__main__":
    main()
