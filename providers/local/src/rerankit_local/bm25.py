"""Okapi BM25 over a call's own documents, in pure Python.

For a query with terms q_1..q_m (repeated terms count once per occurrence) and a document
D of |D| tokens, with N documents, df(t) documents containing t, avgdl the mean length:

    score(D) = sum_i IDF(q_i) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl)),
               tf = tf(q_i, D)
    IDF(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))      (Lucene's form: never negative)

Tokenisation (`tokenize`): NFKC normalisation and case folding; accents folded (NFKD, then
combining marks dropped, so "café" matches "cafe"); words are runs of letters and digits
(punctuation, `_`, whitespace, emoji and symbols split or vanish; "h100" and "3tb" stay
whole); CJK ideographs, kana and Hangul syllables are one token each, so unspaced Chinese,
Japanese and Korean text still matches character by character.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BM25Params", "bm25_scores", "tokenize"]

# CJK ideographs (incl. extension A and compatibility), kana, Hangul syllables.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokenize(text: str) -> list[str]:
    """Split `text` into normalised terms (see the module docstring for the rules)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
        folded = unicodedata.normalize("NFC", folded)
    return _TOKEN.findall(folded)


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25's two knobs: `k1` (term-frequency saturation) and `b` (length normalisation)."""

    k1: float = 1.5
    b: float = 0.75

    def __post_init__(self) -> None:
        if not self.k1 >= 0:
            raise ValueError(f"k1 must be >= 0, got {self.k1}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b must be between 0 and 1, got {self.b}")


def bm25_scores(
    query: str, documents: Sequence[str], params: BM25Params | None = None
) -> list[float]:
    """BM25 score of each document for `query`, in input order; the documents are the corpus."""
    params = params or BM25Params()
    query_terms = Counter(tokenize(query))
    docs = [tokenize(d) for d in documents]
    n = len(docs)
    if n == 0:
        return []
    avgdl = sum(map(len, docs)) / n
    if not query_terms or avgdl == 0:
        return [0.0] * n
    wanted = set(query_terms)
    counts = [Counter(t for t in doc if t in wanted) for doc in docs]
    df = Counter(term for c in counts for term in c)
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in wanted}
    k1, b = params.k1, params.b
    scores = []
    for doc, tf in zip(docs, counts, strict=True):
        norm = k1 * (1 - b + b * len(doc) / avgdl)
        scores.append(
            sum((query_terms[t] * idf[t] * f * (k1 + 1) / (f + norm) for t, f in tf.items()), 0.0)
        )
    return scores
