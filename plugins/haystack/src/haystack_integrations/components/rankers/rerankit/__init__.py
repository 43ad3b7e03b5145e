"""Haystack integration for rerankit: `RerankitRanker`, a ranker component."""

from __future__ import annotations

from haystack_integrations.components.rankers.rerankit.ranker import SCORE_KIND_KEY, RerankitRanker

__all__ = ["RerankitRanker", "SCORE_KIND_KEY"]
