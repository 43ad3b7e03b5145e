"""Key redaction: the key is in no repr, error, traceback or log record."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

from ...errors import RerankitError
from ...provider import HttpProvider
from ...wire import HttpResponse
from .base import ContractBase

__all__ = ["RedactionTests"]


class RedactionTests(ContractBase):
    """Key redaction: the key is in no repr, error, traceback or log record."""

    def test_key_is_in_no_repr(self) -> None:
        """Neither the provider, the request it is given nor the request it builds shows it."""
        request = self._provider_request(self._contract_documents(2))
        shown = [repr(self.provider), repr(request), str(request)]
        if isinstance(self.provider, HttpProvider):
            built = self.provider.build_request(request)
            shown += [repr(built), str(built)]
        for text in shown:
            assert self.api_key not in text, f"The key shows in {text!r}."

    @pytest.mark.parametrize(
        "failure",
        ["401", "429", "500", "html_502", "key_echoed", "invalid_answer", "connect", "timeout"],
    )
    def test_key_is_in_no_error_or_log(
        self, failure: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Whatever fails, the key is in no error message, repr, traceback or log record."""
        self._http_only()
        canned = self._failure(failure)
        self.upstream.serve(canned)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(RerankitError) as info:
            self.rerank(2)
        exc = info.value
        texts = [str(exc), repr(exc), *map(repr, exc.args), *map(repr, vars(exc).values())]
        if failure == "invalid_answer":
            # The clients mask the key in every error they raise; the provider's own error
            # must not need that (it may be logged or raised elsewhere first).
            own = self._provider_error(canned)
            if own is not None:
                texts += [str(own), repr(own), *map(repr, vars(own).values())]
        texts.append("".join(traceback.format_exception(exc)))
        texts += [record.getMessage() for record in caplog.records]
        for text in texts:
            assert self.api_key not in text, f"The key leaks in: {text[:300]!r}"

    def _provider_error(self, canned: Any) -> RerankitError | None:
        """The error `parse_response` itself raises for `canned`, before any masking."""
        assert isinstance(self.provider, HttpProvider)
        headers = {k.lower(): v for k, v in canned.headers.items()}
        response = HttpResponse(canned.status, headers, canned.content)
        try:
            self.provider.parse_response(response, self._provider_request(["a", "b"]))
        except RerankitError as exc:
            return exc
        except Exception:  # a crash is another test's finding
            return None
        return None
