"""Request building: method, URL under the base, key, JSON body, environment."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from ...errors import ConfigurationError
from . import shapes as _shapes
from .base import ContractBase, _under

__all__ = ["RequestTests"]


class RequestTests(ContractBase):
    """Request building: method, URL under the base, key, JSON body, environment."""

    def test_request_is_a_json_post_under_the_base(self) -> None:
        """One POST under `api_base`, with a JSON body, for one call."""
        self._http_only()
        self.rerank(3)
        [sent] = self._sent(1)
        assert sent.method == "POST", f"Rerank requests are POSTs, got {sent.method}."
        assert _under(sent.url, self.api_base), f"{sent.url} is not under {self.api_base}."
        assert sent.headers.get("content-type", "").startswith("application/json")
        assert sent.json is not None, "The request body must be JSON."

    def test_request_carries_query_and_documents_in_order(self) -> None:
        """The query and every document, in the caller's order, once each."""
        self._http_only()
        docs = self._contract_documents(4)
        self.rerank(docs)
        [sent] = self._sent(1)
        assert _shapes.QUERY in list(_shapes.strings_in(sent.json)), "The query is not sent."
        assert self.request_documents(sent) == docs

    def test_trailing_slash_in_base_changes_nothing(self) -> None:
        """`api_base` with or without a trailing `/` gives the same URL, without `//`."""
        self._http_only()
        self.rerank(2, api_base=self.api_base.rstrip("/"))
        self.rerank(2, api_base=self.api_base.rstrip("/") + "/")
        first, second = self._sent(2)
        assert first.url == second.url
        assert "//" not in urlsplit(first.url).path, f"Doubled slash in {first.url}."

    def test_key_is_sent_in_a_header(self) -> None:
        """The API key goes out in a header (never in the URL)."""
        self._http_only()
        if self.provider.api_key_env is None:
            pytest.skip("The provider declares no api_key_env: it takes no key.")
        self.rerank(2)
        [sent] = self._sent(1)
        assert any(self.api_key in value for value in sent.headers.values()), (
            "The api_key given is in no request header."
        )
        assert self.api_key not in sent.url, "The key is in the URL, where logs keep it."

    def test_key_and_base_come_from_the_environment(self) -> None:
        """Without arguments, the provider's env vars supply the key and the base URL."""
        self._http_only()
        env: dict[str, str] = {}
        if self.provider.api_key_env:
            env[self.provider.api_key_env] = self.api_key
        if self.provider.api_base_env:
            env[self.provider.api_base_env[0]] = self.api_base
        if not env:
            pytest.skip("The provider declares no environment variables.")
        self.rerank(2, env=env, api_key=None, api_base=None)
        [sent] = self._sent(1)
        if self.provider.api_base_env:
            assert _under(sent.url, self.api_base), f"{sent.url} ignores the base env var."
        if self.provider.api_key_env:
            assert any(self.api_key in v for v in sent.headers.values()), (
                f"The key from {self.provider.api_key_env} is not sent."
            )

    def test_without_key_fails_clearly_or_sends_none(self) -> None:
        """No key anywhere: a `ConfigurationError` naming what to set, or a keyless request."""
        self._http_only()
        for base in (self.api_base, None):
            self.upstream.clear()
            refused: ConfigurationError | None = None
            try:
                self.rerank(2, api_key=None, api_base=base)
            except ConfigurationError as exc:
                refused = exc
            if refused is not None:
                wanted = self.provider.env_vars()
                assert not wanted or any(env in str(refused) for env in wanted), (
                    f"The error should name the variable to set ({', '.join(wanted)}): {refused}"
                )
                continue
            [sent] = self._sent(1)
            for name, value in sent.headers.items():
                assert not re.search(r"\bNone\b", value), f"Header {name}: {value!r} sent."
