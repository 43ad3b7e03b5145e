"""`ProviderContract`: the tests every rerankit provider must pass, inherited by subclassing.

```py
from rerankit.testing import ProviderContract

from rerankit_acme import AcmeProvider


class TestAcmeContract(ProviderContract):
    provider = AcmeProvider()
    prefix = "acme"
    model = "rerank-1"
    plugin = "rerankit_acme"

    def answer(self, scores, request):
        return {"results": [{"index": i, "relevance_score": s} for i, s in scores]}
```

pytest collects the inherited `test_*` methods. HTTP tests run through `rerankit.Client`
against a `FakeUpstream` that finds the contract's documents in each request and answers
with `answer(...)`, the provider's own wire shape. A `LocalProvider` skips the tests that
need HTTP. The test list and what each checks: docs/writing-a-provider.md.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from .._client import AsyncClient, Client
from ..errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    RerankitError,
    ServerError,
)
from ..provider import HttpProvider, LocalProvider, Param, Provider, ProviderRequest
from ..registry import PREFIX_PATTERN, ProviderRegistry
from ..types import RerankResponse
from ..validation import DocumentInput
from ..wire import HttpRequest, HttpResponse
from . import _shapes
from .upstream import CannedResponse, FakeUpstream

__all__ = ["ProviderContract"]

_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SCORE_KINDS = ("probability", "logit", "bm25", "unknown")
#: Splitting is tried only up to this limit, to keep the suite fast.
_MAX_SPLIT_TEST_LIMIT = 10_000

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


class ProviderContract:
    """Subclass as `Test...` and set `provider` and `prefix` (and `answer` for HTTP).

    Class attributes to set:

    - `provider`: an instance of your `HttpProvider` or `LocalProvider`.
    - `prefix`: the prefix your plugin registers.
    - `model`: a model name your provider accepts (the part after `prefix/`).
    - `plugin`: the import name of the module your `rerankit` entry point names (the one
      with the `register_providers` hookimpl); `None` skips the registration tests.
    - `api_base`: the base URL the tests pass as `api_base=`; requests must go under it.
    - `api_key`: the key the tests pass; it must be sent, and never leak.

    Methods to override: `answer` (required for HTTP providers: your upstream's success
    body), `error_body` (your upstream's error body), `request_documents` (only if your
    requests do not carry the documents as JSON strings).
    """

    provider: ClassVar[Provider]
    prefix: ClassVar[str]
    model: ClassVar[str] = "contract-model"
    plugin: ClassVar[str | None] = None
    api_base: ClassVar[str] = "https://upstream.test/contract"
    api_key: ClassVar[str] = "rk-contract-secret-0123456789abcdef"

    # -- what a plugin author provides ---------------------------------------------------

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        """Your upstream's success body (JSON-able) ranking `request`'s documents.

        `scores` holds `(index, score)` pairs, best first, where `index` is the position
        in the documents of this upstream `request`. Some tests pass broken pairs (an
        index out of range, a score that is text): render them as given.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must define answer(scores, request) returning the "
            f"upstream's success body, e.g. "
            f'{{"results": [{{"index": i, "relevance_score": s}} for i, s in scores]}}.'
        )

    def error_body(self, status: int, message: str) -> Any:
        """Your upstream's error body (JSON-able) for an error `status` saying `message`."""
        return {"message": message}

    def request_documents(self, request: HttpRequest) -> list[str]:
        """The document texts an upstream request carries, in order.

        By default: the contract's own document strings found in the JSON body.
        """
        return [s for s in _shapes.strings_in(request.json) if s in self._positions]

    # -- helpers for the suite and for a plugin's own tests ------------------------------

    @property
    def upstream(self) -> FakeUpstream:
        """This test's fake upstream; by default it answers with `answer(...)`."""
        found = self.__dict__.get("_upstream")
        if found is None:
            found = self.__dict__["_upstream"] = FakeUpstream(self._scored_answer)
        return found

    def rerank(
        self,
        documents: Sequence[DocumentInput] | int = 3,
        *,
        query: str = _shapes.QUERY,
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> RerankResponse:
        """Call `prefix/model` through a `rerankit.Client` wired to `upstream`.

        `documents` is a list, or a count of contract documents. `api_key` and
        `api_base` default to the class's; pass `None` to leave one out. While the call
        runs, the provider's environment variables are unset, then set from `env`.
        Other keyword arguments go to `Client.rerank`.
        """
        docs = self._documents(documents)
        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("api_base", self.api_base)
        with self._environment(env), self._client() as client:
            return client.rerank(self._full_model, query, docs, **kwargs)

    # -- routing and description ---------------------------------------------------------

    def test_contract_is_configured(self) -> None:
        """The subclass names a provider instance, its prefix and a model."""
        assert isinstance(getattr(self, "provider", None), HttpProvider | LocalProvider), (
            "Set `provider` to an instance of your HttpProvider or LocalProvider subclass."
        )
        assert isinstance(getattr(self, "prefix", None), str), "Set `prefix` to your prefix."
        assert self.model, "Set `model` to a model name your provider accepts."
        if isinstance(self.provider, HttpProvider):
            assert type(self).answer is not ProviderContract.answer, (
                "Define answer(scores, request) returning your upstream's success body."
            )

    def test_prefix_is_valid_and_resolves(self) -> None:
        """The prefix is `[a-z0-9_]+`, and a registry routes `prefix/model` to the provider."""
        assert PREFIX_PATTERN.fullmatch(self.prefix), (
            f"Prefix {self.prefix!r} must be lower-case letters, digits and '_'."
        )
        found_prefix, found, rest = self._registry().resolve(self._full_model)
        assert (found_prefix, rest) == (self.prefix, self.model)
        assert found is self.provider

    def test_plugin_hook_registers_the_prefix(self) -> None:
        """The plugin module's `register_providers` hook registers this prefix."""
        module = self._plugin_module()
        manager = self._plugin_manager()
        manager.register(module, name=self.plugin)
        registry = ProviderRegistry.from_plugins(manager)
        assert self.prefix in registry.prefixes(), (
            f"{self.plugin}.register_providers did not register {self.prefix!r}; "
            f"it registered {registry.prefixes()}."
        )
        assert type(registry.get(self.prefix)) is type(self.provider)

    def test_installed_entry_point_resolves_the_prefix(self) -> None:
        """An installed `rerankit` entry point names the plugin module and registers it."""
        self._plugin_module()
        from importlib.metadata import entry_points

        from ..plugins import ENTRY_POINT_GROUP

        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.module == self.plugin]
        assert found, (
            f"No installed entry point in group {ENTRY_POINT_GROUP!r} points at "
            f"{self.plugin!r}. Add to pyproject.toml:\n[project.entry-points.rerankit]\n"
            f'{self.prefix} = "{self.plugin}"\nthen reinstall the package.'
        )
        # Only this plugin's entry points: another installed plugin cannot fail this test.
        manager = self._plugin_manager()
        for ep in found:
            manager.register(ep.load(), name=ep.name)
        registry = ProviderRegistry.from_plugins(manager)
        assert type(registry.get(self.prefix)) is type(self.provider)

    def test_description_is_sane(self) -> None:
        """Name, score kind, environment variables and parameters are well formed."""
        provider = self.provider
        assert isinstance(provider.name, str), "Set `name` to a readable string."
        assert provider.name.strip(), "Set `name` to a readable string."
        assert provider.score_kind in _SCORE_KINDS, f"score_kind must be one of {_SCORE_KINDS}."
        for env in provider.env_vars():
            assert _ENV_NAME.fullmatch(env), f"{env!r} is not an environment variable name."
        assert isinstance(provider.api_base_env, tuple), "api_base_env must be a tuple."
        reserved = {"top_n", "return_documents", "api_key", "api_base", "model", "query"}
        for name, spec in provider.params.items():
            assert isinstance(spec, Param), f"params[{name!r}] must be a rerankit.Param."
            assert name.isidentifier(), f"Parameter name {name!r} must be an identifier."
            assert name not in reserved, f"Parameter {name!r} shadows a unified parameter."

    def test_max_documents_per_request_is_sane(self) -> None:
        """The per-request limit is None (none documented) or a whole number >= 1."""
        limit = self.provider.max_documents_per_request
        assert limit is None or (type(limit) is int and limit >= 1), (
            f"max_documents_per_request must be None or an int >= 1, got {limit!r}."
        )

    # -- request building ----------------------------------------------------------------

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

    # -- response parsing ----------------------------------------------------------------

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

    # -- post-processing through the client ----------------------------------------------

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

    # -- key redaction -------------------------------------------------------------------

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

    # -- internals -----------------------------------------------------------------------

    @property
    def _full_model(self) -> str:
        return f"{self.prefix}/{self.model}"

    @property
    def _positions(self) -> dict[str, int]:
        found: dict[str, int] | None = self.__dict__.get("_position_map")
        if found is None:
            found = self.__dict__["_position_map"] = {}
        return found

    def _contract_documents(self, count: int) -> list[str]:
        """`count` contract documents, fewer if the provider's limit is lower."""
        limit = self.provider.max_documents_per_request
        return _shapes.contract_documents(min(count, limit) if limit else count)

    def _documents(self, documents: Sequence[DocumentInput] | int) -> list[DocumentInput]:
        if isinstance(documents, int):
            documents = self._contract_documents(documents)
        docs = documents
        for i, doc in enumerate(docs):
            text = doc if isinstance(doc, str) else doc.get("text")
            if isinstance(text, str):
                self._positions.setdefault(text, i)
        return list(docs)

    def _scores(self, documents: Sequence[str]) -> list[tuple[int, float]]:
        self._documents(documents)
        return _shapes.scored(documents, self._positions)

    def _expected_order(self, documents: Sequence[str]) -> list[int]:
        if isinstance(self.provider, LocalProvider):
            response = self.rerank(documents, return_documents=False)
            pairs = [(r.index, r.relevance_score) for r in response.results]
            return [i for i, _ in sorted(pairs, key=lambda pair: (-pair[1], pair[0]))]
        return [i for i, _ in self._scores(documents)]

    def _scored_answer(self, request: HttpRequest) -> CannedResponse:
        carried = self.request_documents(request)
        if not carried:
            raise AssertionError(
                f"The fake upstream found none of the call's documents in {request!r} "
                f"(body {request.json!r}); override request_documents()."
            )
        return self._render(_shapes.scored(carried, self._positions), request)

    def _render(self, pairs: Sequence[tuple[Any, Any]], request: HttpRequest) -> CannedResponse:
        return CannedResponse.from_json(self.answer(pairs, request))

    def _failure(self, failure: str) -> Any:
        key = self.api_key
        if failure == "connect":
            return httpx.ConnectError("connection refused")
        if failure == "timeout":
            return httpx.ReadTimeout("no answer")
        if failure == "html_502":
            return CannedResponse.from_text("<h1>bad gateway</h1>", status=502)
        if failure == "key_echoed":
            return CannedResponse.from_json(
                self.error_body(401, f"invalid api key: {key}"), status=401
            )
        if failure == "invalid_answer":
            return CannedResponse.from_text("<html>not json</html>", status=200)
        status = int(failure)
        return CannedResponse.from_json(self.error_body(status, "failed"), status=status)

    def _provider_request(self, documents: Sequence[str]) -> ProviderRequest:
        return ProviderRequest(
            prefix=self.prefix,
            model=self.model,
            query=_shapes.QUERY,
            documents=tuple(documents),
            api_key=self.api_key,
            api_base=self.api_base,
        )

    def _parse_directly(self, canned: CannedResponse, documents: Sequence[str]) -> None:
        """`parse_response` itself returns a `Ranking` or raises a rerankit error.

        Checked apart from the client, whose safety net may turn a provider's crash into
        an `InvalidResponseError`: the provider should not need it.
        """
        assert isinstance(self.provider, HttpProvider)
        headers = {k.lower(): v for k, v in canned.headers.items()}
        response = HttpResponse(canned.status, headers, canned.content)
        try:
            self.provider.parse_response(response, self._provider_request(documents))
        except RerankitError:
            pass
        except Exception as exc:
            pytest.fail(
                f"{type(self.provider).__name__}.parse_response crashed with "
                f"{type(exc).__name__}: {exc}. Raise rerankit.errors.InvalidResponseError "
                f"for an answer it cannot read."
            )

    def _sent(self, count: int) -> list[HttpRequest]:
        sent = self.upstream.requests
        assert len(sent) == count, f"Expected {count} upstream request(s), got {len(sent)}."
        return list(sent)

    def _http_only(self) -> None:
        if not isinstance(self.provider, HttpProvider):
            pytest.skip("HTTP-only test; this provider is a LocalProvider.")

    def _plugin_module(self) -> Any:
        if self.plugin is None:
            pytest.skip("Set `plugin` to your entry point's module to test registration.")
        import importlib

        return importlib.import_module(self.plugin)

    @staticmethod
    def _plugin_manager() -> Any:
        import pluggy

        from .. import hookspecs

        manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        return manager

    def _testable_limit(self) -> int:
        self._http_only()
        limit = self.provider.max_documents_per_request
        if limit is None:
            pytest.skip("The provider declares no max_documents_per_request.")
        if limit > _MAX_SPLIT_TEST_LIMIT:
            pytest.skip(f"Limit {limit} is too large to test quickly.")
        return limit

    def _registry(self) -> ProviderRegistry:
        registry = ProviderRegistry()
        registry.register(self.prefix, self.provider, plugin=f"contract:{type(self).__name__}")
        return registry

    def _client(self) -> Client:
        return Client(
            registry=self._registry(), transport=self.upstream.transport, **_no_retries(Client)
        )

    def _async_client(self) -> AsyncClient:
        return AsyncClient(
            registry=self._registry(),
            transport=self.upstream.transport,
            **_no_retries(AsyncClient),
        )

    @contextmanager
    def _environment(self, env: Mapping[str, str] | None) -> Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            for name in self.provider.env_vars():
                patch.delenv(name, raising=False)
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            yield


def _no_retries(client: type[Client] | type[AsyncClient]) -> dict[str, Any]:
    """`max_retries=0` where the client retries: each test sees exactly one attempt."""
    parameters = inspect.signature(client.__init__).parameters
    return {"max_retries": 0} if "max_retries" in parameters else {}


def _under(url: str, base: str) -> bool:
    """Whether `url` is `base` or below it (same scheme and host, path under base's)."""
    got, want = urlsplit(url), urlsplit(base)
    path = want.path.rstrip("/")
    return (got.scheme, got.netloc) == (want.scheme, want.netloc) and (
        got.path == path or got.path.startswith(path + "/")
    )
