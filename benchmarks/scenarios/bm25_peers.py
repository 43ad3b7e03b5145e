"""`local/bm25` against bm25s and rank_bm25 on the same input (issue 11's comparison).

Reranking scores one call's own documents, so every contender does the whole job per
call: tokenise the documents and the query, build the corpus statistics, score. Inputs
are ~100-word documents drawn from a Zipf-distributed vocabulary (seeded), 5-word queries.

- rerankit: `bm25_scores(query, documents)`, its own Unicode-aware tokeniser included.
- bm25s (`method="lucene"`, the same IDF as rerankit, k1=1.5, b=0.75): `bm25s.tokenize`
  (lower-cased, no stop words, no stemmer), `BM25.index`, `get_scores`.
- rank_bm25: `BM25Okapi` on `str.lower().split()` tokens, `get_scores` (its IDF differs:
  ln((N - df + 0.5) / (df + 0.5)) with a floor, so rankings may differ slightly).

"same top 10" is the share of each contender's ten best documents among rerankit's ten
best (the generated text has no punctuation, so the tokenisers agree on it).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.report import Result

SIZES = (1_000, 10_000)
WORDS_PER_DOC = 100
VOCABULARY = 5_000


def corpus(size: int, seed: int) -> tuple[str, list[str]]:
    """A query and `size` documents of ~100 words from a Zipf-like vocabulary."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(VOCABULARY)]
    weights = [1.0 / (rank + 1) for rank in range(VOCABULARY)]
    docs = [
        " ".join(rng.choices(words, weights, k=WORDS_PER_DOC + rng.randint(-20, 20)))
        for _ in range(size)
    ]
    query = " ".join(rng.choices(words[20:500], k=5))
    return query, docs


def top(scores: Any, k: int = 10) -> list[int]:
    """The indices of the `k` best scores, best first, ties by index."""
    values = [float(s) for s in scores]
    return sorted(range(len(values)), key=lambda i: (-values[i], i))[:k]


def _rerankit(query: str, docs: list[str]) -> list[float]:
    from rerankit.default_plugins.local.bm25 import bm25_scores

    return bm25_scores(query, docs)


def _bm25s(query: str, docs: list[str]) -> Any:
    import bm25s

    tokens = bm25s.tokenize(docs, lower=True, stopwords=None, show_progress=False)
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(tokens, show_progress=False)
    query_tokens = [t for t in query.lower().split() if t in tokens.vocab]
    return retriever.get_scores(query_tokens)


def _rank_bm25(query: str, docs: list[str]) -> Any:
    from rank_bm25 import BM25Okapi

    return BM25Okapi([d.lower().split() for d in docs], k1=1.5, b=0.75).get_scores(
        query.lower().split()
    )


CONTENDERS: dict[str, Callable[[str, list[str]], Any]] = {
    "rerankit local/bm25 (pure Python)": _rerankit,
    "bm25s (lucene, numpy/scipy)": _bm25s,
    "rank_bm25 BM25Okapi": _rank_bm25,
}


def run(quick: bool) -> Result:
    """Median seconds per call for each contender and size, and ranking agreement."""
    result = Result(
        "bm25",
        "BM25: local/bm25 against bm25s and rank_bm25 (tokenise, index and score one call)",
        ["documents", "contender", "ms per call (median)", "x rerankit", "same top 10"],
    )
    sizes = (200, 1_000) if quick else SIZES
    rounds = 2 if quick else 5
    missing = []
    for name, module in (("bm25s", "bm25s"), ("rank_bm25", "rank_bm25")):
        try:
            __import__(module)
        except ImportError:
            missing.append(name)
    if missing:
        result.skipped = f"{', '.join(missing)} not installed (uv sync --all-packages)"
        return result
    for size in sizes:
        query, docs = corpus(size, seed=size)
        reference = top(_rerankit(query, docs))
        timings: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        for _ in range(rounds):  # interleaved rounds: the machine's load hits all alike
            for name, contender in CONTENDERS.items():
                started = time.perf_counter()
                contender(query, docs)
                timings[name].append(time.perf_counter() - started)
        ours = statistics.median(timings["rerankit local/bm25 (pure Python)"])
        for name, contender in CONTENDERS.items():
            median = statistics.median(timings[name])
            agreement = len(set(top(contender(query, docs))) & set(reference)) / 10
            result.rows.append([size, name, median * 1000, median / ours, f"{agreement:.0%}"])
            result.data[f"{size}/{name}"] = {"seconds": median, "same_top10": agreement}
    result.notes.append(
        "x rerankit: the contender's time over rerankit's (below 1: faster than rerankit)."
    )
    return result
