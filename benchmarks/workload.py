"""The request every scenario sends, and the small statistics every scenario reports."""

from __future__ import annotations

import random
import statistics
from typing import Any

MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"
#: The NIM route and body model for `MODEL`, for the bare clients that build it by hand.
NIM_PATH = "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
NIM_MODEL = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
API_KEY = "nvapi-bench-not-a-secret"
QUERY = "What is the GPU memory bandwidth of H100 SXM?"

_WORDS = (  # noqa: SIM905 (a list literal of 50 words reads worse)
    "gpu memory bandwidth hopper grace interconnect tensor core throughput latency cache "
    "server rack cooling power efficiency inference training model batch token sequence "
    "precision accelerator cluster network fabric storage nvlink pcie die transistor clock "
    "the a of and to in is that for with as on by at from this are be"
).split()


def documents(count: int, words: int = 100, seed: int = 0) -> list[str]:
    """`count` deterministic documents of `words` words each (~100 words: a RAG chunk)."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=words)) for _ in range(count)]


def nim_body(query: str, docs: list[str]) -> dict[str, Any]:
    """NIM's request body, as rerankit's provider builds it."""
    return {"model": NIM_MODEL, "query": {"text": query}, "passages": [{"text": d} for d in docs]}


def nim_headers() -> dict[str, str]:
    """The headers rerankit's NIM provider sends."""
    return {"Accept": "application/json", "Authorization": f"Bearer {API_KEY}"}


def summarize(latencies: list[float]) -> dict[str, float]:
    """mean, p50 and p99 in milliseconds of latencies given in seconds."""
    ordered = sorted(latencies)
    n = len(ordered)

    def pick(q: float) -> float:
        return ordered[min(n - 1, max(0, round(q * (n - 1))))] * 1000

    return {
        "n": n,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
    }


def ratio(value: float, floor: float) -> float | None:
    """`value / floor`, or None when the floor is zero."""
    return value / floor if floor else None
