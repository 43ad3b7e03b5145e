"""The provider contract suite (rerankit.testing) run against both Bedrock routes.

The contract's base (`https://upstream.test/contract`) is not an AWS host, so its api_key
goes out as a bearer token on both routes; without a key the request is SigV4-signed with
the fixed credentials below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_bedrock import AwsCredentials, BedrockProvider

CREDENTIALS = AwsCredentials("AKIACONTRACT0000", "contract/secret/0123456789", "contract-token")


def _provider() -> BedrockProvider:
    return BedrockProvider(
        credentials=CREDENTIALS,
        region="us-west-2",
        clock=lambda: datetime(2026, 12, 1, 22, 0, tzinfo=UTC),
    )


class TestBedrockRerankContract(ProviderContract):
    """`bedrock/<model id>`: the Agent Runtime Rerank API."""

    provider = _provider()
    prefix = "bedrock"
    model = "amazon.rerank-v1:0"
    plugin = "rerankit_bedrock"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        config = request.json["rerankingConfiguration"]["bedrockRerankingConfiguration"]
        cut = config["numberOfResults"]
        return {"results": [{"index": i, "relevanceScore": s} for i, s in scores[:cut]]}

    def test_without_key_the_request_is_signed(self) -> None:
        self.rerank(2, api_key=None)
        [sent] = self.upstream.requests
        assert sent.headers["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIACONTRACT0000/20261201/us-west-2/bedrock/aws4_request"
        )
        assert sent.headers["x-amz-security-token"] == "contract-token"

    def test_key_is_sent_as_a_bearer(self) -> None:
        self.rerank(2)
        [sent] = self.upstream.requests
        assert sent.headers["authorization"] == f"Bearer {self.api_key}"
        assert "x-amz-date" not in sent.headers


class TestBedrockInvokeContract(TestBedrockRerankContract):
    """`bedrock/invoke/<cohere model>`: Cohere's body through InvokeModel."""

    model = "invoke/cohere.rerank-v3-5:0"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        cut = request.json.get("top_n") or len(scores)
        return {
            "id": "invoke-contract",
            "results": [{"index": i, "relevance_score": s} for i, s in scores[:cut]],
        }
