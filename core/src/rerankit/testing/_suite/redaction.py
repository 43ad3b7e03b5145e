"""Key redaction: the key is in no repr, error, traceback or log record."""

from __future__ import annotations

import logging
import traceback

import pytest

from ...errors import RerankitError
from ...provider import HttpProvider
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
        self.upstream.serve(self._failure(failure))
        caplog.set_level(logging.DEBUG)
        with pytest.raises(RerankitError) as info:
            self.rerank(2)
        exc = info.value
        texts = [str(exc), repr(exc), *map(repr, exc.args), *map(repr, vars(exc).values())]
        texts.append("".join(traceback.format_exception(exc)))
        texts += [record.getMessage() for record in caplog.records]
        for text in texts:
            assert self.api_key not in text, f"The key leaks in: {text[:300]!r}"
