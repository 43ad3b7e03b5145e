"""Scenario 4: large document sets through NIM's 512-passage limit.

rerankit splits a call above the provider's limit into several upstream requests (the
reliability work). The floor is a bare `httpx.Client` sending the same chunks one after
the other and merging the answers by hand. Skipped, with a note, while rerankit rejects
such calls.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from benchmarks.report import Result
from benchmarks.upstream import MAX_PASSAGES, UpstreamProcess
from benchmarks.workload import (
    API_KEY,
    MODEL,
    NIM_PATH,
    QUERY,
    documents,
    nim_body,
    nim_headers,
    ratio,
)

FLOOR = "httpx.Client, chunks in sequence (floor)"
SUBJECT = "rerankit.rerank"


def splitting_supported(base: str) -> str | None:
    """None when rerankit accepts more documents than the limit, else why not."""
    import rerankit
    from rerankit.errors import InvalidRequestError

    try:
        rerankit.rerank(MODEL, QUERY, documents(MAX_PASSAGES + 1), api_base=base, api_key=API_KEY)
    except InvalidRequestError as exc:
        return f"rerankit does not split calls above the 512 limit on this branch yet ({exc})"
    return None


def floor_call(client: Any, base: str, docs: list[str]) -> list[tuple[int, float]]:
    """The bare equivalent: every chunk in turn, merged and sorted by hand."""
    scores: list[tuple[int, float]] = []
    for offset in range(0, len(docs), MAX_PASSAGES):
        chunk = docs[offset : offset + MAX_PASSAGES]
        r = client.post(base + NIM_PATH, json=nim_body(QUERY, chunk), headers=nim_headers())
        r.raise_for_status()
        scores.extend((offset + x["index"], x["logit"]) for x in r.json()["rankings"])
    scores.sort(key=lambda pair: -pair[1])
    return scores


def run(quick: bool) -> Result:
    """1,000 and 10,000 documents, with no and with 50 ms simulated upstream latency."""
    import httpx

    import rerankit

    result = Result(
        scenario="large",
        title="4. Large sets (1,000 and 10,000 docs, NIM limit 512 per request)",
        columns=["docs", "upstream latency ms", "client", "median s", "x floor"],
    )
    sizes = (1000,) if quick else (1000, 10_000)
    repeats = 1 if quick else 3
    for latency in (0.0, 0.05):
        with UpstreamProcess(latency=latency) as upstream:
            why_not = splitting_supported(upstream.url)
            if why_not:
                result.skipped = why_not
                return result
            with httpx.Client(timeout=120) as bare:
                for size in sizes:
                    docs = documents(size, words=100, seed=size)
                    times: dict[str, list[float]] = {FLOOR: [], SUBJECT: []}
                    for _ in range(repeats):
                        start = time.perf_counter()
                        floor_call(bare, upstream.url, docs)
                        times[FLOOR].append(time.perf_counter() - start)
                        start = time.perf_counter()
                        rerankit.rerank(
                            MODEL, QUERY, docs, api_base=upstream.url, api_key=API_KEY, top_n=10
                        )
                        times[SUBJECT].append(time.perf_counter() - start)
                    floor = statistics.median(times[FLOOR])
                    for label, samples in times.items():
                        median = statistics.median(samples)
                        key = f"{size}/{int(latency * 1000)}ms/{label}"
                        result.data[key] = {"median_s": median, "x_floor": ratio(median, floor)}
                        result.rows.append(
                            [size, latency * 1000, label, median, ratio(median, floor)]
                        )
    return result
