"""Deprecated alias of `rerankit.default_plugins.local.bm25`."""

from __future__ import annotations

from rerankit.default_plugins.local.bm25 import DEFAULT_PARAMS, BM25Params, bm25_scores, tokenize

__all__ = ["DEFAULT_PARAMS", "BM25Params", "bm25_scores", "tokenize"]
