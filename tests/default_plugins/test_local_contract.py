"""The provider contract suite (rerankit.testing) run against the core's local BM25 plugin."""

from __future__ import annotations

from rerankit.default_plugins.local import LocalBM25Provider
from rerankit.testing import ProviderContract


class TestLocalBM25Contract(ProviderContract):
    provider = LocalBM25Provider()
    prefix = "local"
    model = "bm25"
    plugin = "rerankit.default_plugins.local"
