"""Scenario 2: sync per-call cost, `rerankit.rerank` vs a bare `httpx.Client.post`.

Both send the same NIM request (20 documents of ~100 words) to the same upstream and
parse its JSON answer. Calls alternate in blocks between the two so that noise from the
machine falls on both alike.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from benchmarks.clients import forced_transport
from benchmarks.report import Result
from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import (
    API_KEY,
    MODEL,
    NIM_PATH,
    QUERY,
    documents,
    nim_body,
    nim_headers,
    ratio,
    summarize,
)

FLOOR = "httpx.Client.post (floor)"
SUBJECT = "rerankit.rerank"
#: rerankit on the HTTP library it used before its own HTTP/1.1 client: its overhead over
#: the floor's own transport.
ON_HTTPX = "rerankit.Client on httpx (RERANKIT_SYNC_TRANSPORT=httpx)"


def clients(base: str, docs: list[str]) -> tuple[dict[str, Callable[[], Any]], Callable[[], None]]:
    """The calls compared, and how to close them."""
    import httpx

    import rerankit

    url, body, headers = base + NIM_PATH, nim_body(QUERY, docs), nim_headers()
    bare = httpx.Client(timeout=60)

    def floor() -> Any:
        response = bare.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    def subject() -> Any:
        return rerankit.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

    # The environment variable is read when the client's sender is made, on its first call.
    with forced_transport("RERANKIT_SYNC_TRANSPORT", "httpx"):
        on_httpx_client = rerankit.Client()
        on_httpx_client.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

    def on_httpx() -> Any:
        return on_httpx_client.rerank(MODEL, QUERY, docs, api_base=base, api_key=API_KEY)

    def close() -> None:
        bare.close()  # rerankit's shared client stays open for later scenarios, as in an app
        on_httpx_client.close()

    return {FLOOR: floor, SUBJECT: subject, ON_HTTPX: on_httpx}, close


def run(quick: bool) -> Result:
    """A few hundred calls of each, interleaved in blocks of 25."""
    docs = documents(20)
    calls, block = (20, 10) if quick else (400, 25)
    latencies: dict[str, list[float]] = {FLOOR: [], SUBJECT: [], ON_HTTPX: []}
    with UpstreamProcess() as upstream:
        funcs, close = clients(upstream.url, docs)
        try:
            for func in funcs.values():
                for _ in range(10):
                    func()  # warm: connection open, modules loaded
            gc.collect()
            for _ in range(calls // block):
                for label, func in funcs.items():
                    times = latencies[label]
                    for _ in range(block):
                        start = time.perf_counter()
                        func()
                        times.append(time.perf_counter() - start)
        finally:
            close()
    data = {label: summarize(times) for label, times in latencies.items()}
    floor = data[FLOOR]
    rows = []
    for label, m in data.items():
        m["x_floor_mean"] = ratio(m["mean_ms"], floor["mean_ms"])
        m["x_floor_p50"] = ratio(m["p50_ms"], floor["p50_ms"])
        rows.append(
            [label, m["mean_ms"], m["p50_ms"], m["p99_ms"], m["x_floor_mean"], m["x_floor_p50"]]
        )
    return Result(
        scenario="sync",
        title=f"2. Sync per-call (20 docs of ~100 words, {calls} calls each)",
        columns=["client", "mean ms", "p50 ms", "p99 ms", "x floor (mean)", "x floor (p50)"],
        rows=rows,
        data=data,
        notes=["Both clients send the same NIM body to the same upstream and parse its JSON."],
    )
