"""A fake AWS Bedrock on 127.0.0.1: checks SigV4 the way AWS does, answers both rerank APIs.

`FakeBedrock.handle` is a `tests.fakes.rerank_server` handler. It verifies each request's
signature with the independent verifier (403 `InvalidSignatureException` otherwise, as
AWS answers), then serves `POST /rerank` (Agent Runtime) and `POST /model/{id}/invoke`
(Runtime, Cohere's body) with scores from `overlap_score`. Errors look like AWS's: the
status, an `x-amzn-ErrorType` header and `{"message": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import unquote

from providers.bedrock.tests.sigv4_verifier import SignatureRejected, Signed, verify
from tests.fakes.rerank_server import Reply, Seen, ranked

__all__ = ["FakeBedrock", "aws_error"]

ACCESS_KEY = "AKIAFAKEBEDROCK0001"
SECRET_KEY = "fake/bedrock/secret+0123456789abcdefghij"
SESSION_TOKEN = "fake-session-token-0123456789"
API_KEY = "bedrock-api-key-ABSKfake0123456789"


def aws_error(status: int, code: str, message: str) -> Reply:
    """An error the way Bedrock sends it."""
    return Reply(
        status,
        {"message": message},
        {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


class FakeBedrock:
    """The handler and what it saw: the verified signer of each request."""

    def __init__(self) -> None:
        self.signed: list[Signed | str] = []
        #: A test's override: answer this instead (after the signature check).
        self.answer: Callable[[Seen], Reply] | None = None

    def handle(self, seen: Seen) -> Reply:
        auth = seen.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            if auth != f"Bearer {API_KEY}":
                return aws_error(403, "UnrecognizedClientException", "Invalid API key.")
            self.signed.append("bearer")
        else:
            try:
                self.signed.append(
                    verify(
                        seen.method,
                        seen.path,
                        seen.headers,
                        seen.body,
                        secrets={ACCESS_KEY: SECRET_KEY},
                        session_tokens={ACCESS_KEY: SESSION_TOKEN},
                        now=datetime.now(UTC),
                    )
                )
            except SignatureRejected as exc:
                return aws_error(403, "InvalidSignatureException", str(exc))
        if self.answer is not None:
            return self.answer(seen)
        if seen.path == "/rerank":
            return self._rerank(seen)
        if seen.path.startswith("/model/") and seen.path.endswith("/invoke"):
            return self._invoke(seen)
        return aws_error(404, "UnknownOperationException", f"no route {seen.path}")

    @staticmethod
    def _rerank(seen: Seen) -> Reply:
        body = seen.json
        try:
            query = body["queries"][0]["textQuery"]["text"]
            texts = [s["inlineDocumentSource"]["textDocument"]["text"] for s in body["sources"]]
            config = body["rerankingConfiguration"]["bedrockRerankingConfiguration"]
            arn = config["modelConfiguration"]["modelArn"]
        except (KeyError, IndexError, TypeError) as exc:
            return aws_error(400, "ValidationException", f"malformed request: {exc}")
        if not arn.endswith(
            ("foundation-model/amazon.rerank-v1:0", "foundation-model/cohere.rerank-v3-5:0")
        ):
            return aws_error(
                400, "ValidationException", f"The provided model identifier is invalid: {arn}"
            )
        pairs = ranked(query, texts, config.get("numberOfResults"))
        return Reply(200, {"results": [{"index": i, "relevanceScore": s} for i, s in pairs]})

    @staticmethod
    def _invoke(seen: Seen) -> Reply:
        model = unquote(seen.path.removeprefix("/model/").removesuffix("/invoke"))
        body = seen.json
        if body.get("api_version") != 2:
            return aws_error(400, "ValidationException", "api_version 2 is required")
        pairs = ranked(body["query"], body["documents"], body.get("top_n"))
        return Reply(
            200,
            {
                "id": f"invoke-{model}",
                "results": [{"index": i, "relevance_score": s} for i, s in pairs],
            },
        )
