"""The provider contract suite (rerankit.testing) run against the Vertex AI ranking provider.

The contract's api_key is taken as an OAuth access token; without one, the provider's own
credentials (a fixed token here, no token exchange) authorize the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.oauth2.credentials import Credentials

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_vertex_ai import VertexAIProvider


class TestVertexAIContract(ProviderContract):
    provider = VertexAIProvider(
        credentials=Credentials(token="ya29.contract-adc-token"), project="contract-project"
    )
    prefix = "vertex_ai"
    model = "semantic-ranker-default-004"
    plugin = "rerankit_vertex_ai"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("topN") or len(scores)
        return {"records": [{"id": str(i), "score": s} for i, s in scores[:cut]]}

    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message, "status": "FAILED_PRECONDITION"}}

    def test_key_is_sent_as_the_bearer(self) -> None:
        self.rerank(2)
        [sent] = self.upstream.requests
        assert sent.headers["authorization"] == f"Bearer {self.api_key}"

    def test_without_key_the_credentials_token_is_sent(self) -> None:
        self.rerank(2, api_key=None)
        [sent] = self.upstream.requests
        assert sent.headers["authorization"] == "Bearer ya29.contract-adc-token"
        assert "/v1/projects/contract-project/locations/global/" in sent.url
