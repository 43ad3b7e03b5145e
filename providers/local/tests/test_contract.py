"""The provider contract suite (rerankit.testing) run against the local BM25 provider."""

from __future__ import annotations

from rerankit.testing import ProviderContract
from rerankit_local import LocalBM25Provider


class TestLocalBM25Contract(ProviderContract):
    provider = LocalBM25Provider()
    prefix = "local"
    model = "bm25"
    plugin = "rerankit_local"
