"""Deprecated alias of `rerankit.default_plugins.local.provider`."""

from __future__ import annotations

from rerankit.default_plugins.local.provider import MODELS, LocalBM25Provider

__all__ = ["MODELS", "LocalBM25Provider"]
