"""Through the client: sorting, top_n, documents, async, splitting above the limit."""

from __future__ import annotations

import asyncio

import pytest

from ...errors import InvalidRequestError
from ...types import RerankResponse
from ...validation import DocumentInput
from . import shapes as _shapes
from .base import ContractBase

__all__ = ["ResultTests"]


class ResultTests(ContractBase):
    """Through the client: sorting, top_n, documents, async, splitting above the limit."""

    def test_top_n_keeps_the_best(self) -> None:
        """`top_n` returns the best `top_n`, best first."""
        docs = self._contract_documents(6)
        response = self.rerank(docs, top_n=2)
        assert [r.index for r in response.results] == self._expected_order(docs)[:2]

    def test_top_n_above_document_count_returns_all(self) -> None:
        """A `top_n` larger than the documents returns every document."""
        docs = self._contract_documents(3)
        response = self.rerank(docs, top_n=10)
        assert sorted(r.index for r in response.results) == [0, 1, 2]

    def test_documents_are_attached_with_their_fields(self) -> None:
        """Each result carries its own document, object fields kept."""
        texts = self._contract_documents(3)
        docs: list[DocumentInput] = [texts[0], {"text": texts[1], "id": "doc-1"}, texts[2]]
        response = self.rerank(docs)
        for result in response.results:
            assert result.document is not None
            assert result.document.text == texts[result.index]
        [with_fields] = [r for r in response.results if r.index == 1]
        assert with_fields.document is not None
        assert with_fields.document.model_extra == {"id": "doc-1"}

    def test_return_documents_false_omits_documents(self) -> None:
        """`return_documents=False` gives indices and scores only."""
        response = self.rerank(3, return_documents=False)
        assert len(response.results) == 3
        assert all(r.document is None for r in response.results)

    def test_async_client_gives_the_same_answer(self) -> None:
        """`AsyncClient` ranks exactly like `Client`."""
        docs = self._contract_documents(4)
        sync = self.rerank(docs)

        async def call() -> RerankResponse:
            async with self._async_client() as client:
                return await client.rerank(
                    self._full_model,
                    _shapes.QUERY,
                    docs,
                    api_key=self.api_key,
                    api_base=self.api_base,
                )

        with self._environment(None):
            result = asyncio.run(call())
        assert [(r.index, r.relevance_score) for r in result.results] == [
            (r.index, r.relevance_score) for r in sync.results
        ]

    # -- splitting -----------------------------------------------------------------------

    def test_documents_up_to_the_limit_fit_one_request(self) -> None:
        """A call with exactly `max_documents_per_request` documents is one request."""
        limit = self._testable_limit()
        self.rerank(limit, return_documents=False)
        [sent] = self._sent(1)
        assert len(self.request_documents(sent)) == limit

    def test_call_above_the_limit_is_split(self) -> None:
        """More documents than the limit: several requests within it; one full ranking."""
        limit = self._testable_limit()
        docs = _shapes.contract_documents(limit + 1)
        try:
            response = self.rerank(docs, return_documents=False)
        except InvalidRequestError as exc:
            if not self.upstream.requests and str(limit) in str(exc):
                pytest.skip(f"This rerankit core does not split calls above the limit: {exc}")
            raise
        sent = self.upstream.requests
        assert len(sent) >= 2, "A call above the limit must be split."
        carried = [self.request_documents(request) for request in sent]
        assert all(1 <= len(chunk) <= limit for chunk in carried)
        assert sorted(doc for chunk in carried for doc in chunk) == sorted(docs)
        assert [r.index for r in response.results] == self._expected_order(docs)
