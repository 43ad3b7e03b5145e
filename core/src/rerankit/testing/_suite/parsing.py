"""Response parsing, odd shapes included, and error mapping by status."""

from __future__ import annotations

import pytest

from ...errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
)
from ...provider import HttpProvider
from ...wire import HttpRequest
from ..upstream import CannedResponse
from . import shapes as _shapes
from .base import ContractBase

__all__ = ["ParsingTests"]

_STATUS_ERRORS: list[tuple[int, type[APIStatusError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (413, RequestTooLargeError),
    (422, BadRequestError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
]


class ParsingTests(ContractBase):
    """Response parsing, odd shapes included, and error mapping by status."""

    def test_parses_its_answer(self) -> None:
        """The upstream's scores come back on the right documents."""
        docs = self._contract_documents(5)
        response = self.rerank(docs)
        assert [r.index for r in response.results] == self._expected_order(docs)
        if isinstance(self.provider, HttpProvider):
            for result in response.results:
                assert result.relevance_score == _shapes.score_of(result.index)

    def test_answer_in_any_order_is_sorted_best_first(self) -> None:
        """Results come back best first even when the upstream lists them by index."""
        self._http_only()
        docs = self._contract_documents(6)
        in_index_order = sorted(self._scores(docs), key=lambda pair: pair[0])
        self.upstream.serve(lambda request: self._render(in_index_order, request))
        response = self.rerank(docs)
        assert [r.index for r in response.results] == self._expected_order(docs)

    @pytest.mark.parametrize("shape", sorted(_shapes.TOLERATED_SHAPES))
    def test_tolerated_answer_shapes_parse(self, shape: str) -> None:
        """Extra fields, no usage/meta, a null, string or object `document`: same ranking."""
        self._http_only()
        docs = self._contract_documents(3)
        mutate = _shapes.TOLERATED_SHAPES[shape]
        self.upstream.serve(
            lambda request: CannedResponse.from_json(
                mutate(self.answer(self._scores(docs), request))
            )
        )
        response = self.rerank(docs)
        assert [r.index for r in response.results] == self._expected_order(docs)

    def test_bare_list_or_wrapped_answer_parses_or_fails_typed(self) -> None:
        """A bare list for an object (or the reverse): the right ranking or a typed error."""
        self._http_only()
        docs = self._contract_documents(3)

        def swapped(request: HttpRequest) -> CannedResponse:
            body = self.answer(self._scores(docs), request)
            if isinstance(body, list):
                return CannedResponse.from_json({"results": body})
            lists = (
                [v for v in body.values() if isinstance(v, list)] if isinstance(body, dict) else []
            )
            return CannedResponse.from_json(lists[0] if lists else [body])

        self.upstream.serve(swapped)
        try:
            response = self.rerank(docs)
        except InvalidResponseError:
            return
        assert [r.index for r in response.results] == self._expected_order(docs)

    @pytest.mark.parametrize("garbage", sorted(_shapes.GARBAGE_ANSWERS))
    def test_garbage_answer_is_invalid_response_error(self, garbage: str) -> None:
        """A 200 whose body is no ranking (HTML, empty, null, ...) is `InvalidResponseError`."""
        self._http_only()
        content, content_type = _shapes.GARBAGE_ANSWERS[garbage]
        canned = CannedResponse(200, content, {"content-type": content_type})
        self.upstream.serve(canned)
        with pytest.raises(InvalidResponseError) as info:
            self.rerank(3)
        assert info.value.provider == self.provider.name
        self._parse_directly(canned, self._contract_documents(3))

    @pytest.mark.parametrize("bad", sorted(_shapes.BAD_RANKINGS))
    def test_bad_ranking_is_invalid_response_error(self, bad: str) -> None:
        """Out-of-range, repeated or missing indices, non-number scores: typed errors."""
        self._http_only()
        docs = self._contract_documents(3)
        broken = _shapes.BAD_RANKINGS[bad](list(self._scores(docs)), len(docs))
        self.upstream.serve(lambda request: self._render(broken, request))
        with pytest.raises(InvalidResponseError):
            self.rerank(docs)
        self._parse_directly(self._render(broken, self.upstream.requests[-1]), docs)

    # -- error mapping -------------------------------------------------------------------

    @pytest.mark.parametrize(("status", "error"), _STATUS_ERRORS)
    def test_error_status_maps_to_typed_error(
        self, status: int, error: type[APIStatusError]
    ) -> None:
        """Each error status is its `rerankit.errors` class, with context and the message."""
        self._http_only()
        said = f"upstream says no ({status})"
        headers = {"retry-after": "7"} if status == 429 else {}
        self.upstream.serve(
            CannedResponse.from_json(self.error_body(status, said), status=status, headers=headers)
        )
        with pytest.raises(error) as info:
            self.rerank(2)
        exc = info.value
        assert (exc.status_code, exc.provider, exc.model) == (
            status,
            self.provider.name,
            self._full_model,
        )
        assert said in str(exc), f"The upstream's message is missing from: {exc}"
        if isinstance(exc, RateLimitError):
            assert exc.retry_after == 7.0

    @pytest.mark.parametrize(("status", "error"), [(401, AuthenticationError), (502, ServerError)])
    def test_html_error_page_is_typed(self, status: int, error: type[APIStatusError]) -> None:
        """An HTML error page (a load balancer's) still maps to the typed error."""
        self._http_only()
        page = f"<html><body><h1>{status}</h1>" + "<p>padding</p>" * 200 + "</body></html>"
        self.upstream.serve(CannedResponse.from_text(page, status=status, content_type="text/html"))
        with pytest.raises(error) as info:
            self.rerank(2)
        assert info.value.status_code == status
        assert len(str(info.value)) < 2000, "An error message should not carry a whole page."
