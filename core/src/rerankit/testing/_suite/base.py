"""What every contract test stands on: the author's settings, the fake upstream, the client."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from ..._async_client import AsyncClient
from ..._client import Client
from ...errors import RerankitError
from ...provider import HttpProvider, LocalProvider, Provider, ProviderRequest
from ...registry import ProviderRegistry
from ...types import RerankResponse
from ...validation import DocumentInput
from ...wire import HttpRequest, HttpResponse
from ..upstream import CannedResponse, FakeUpstream
from . import shapes as _shapes

__all__ = ["ContractBase"]

#: Splitting is tried only up to this limit, to keep the suite fast.
_MAX_SPLIT_TEST_LIMIT = 10_000


class ContractBase:
    """The settings, the author's hooks and the helpers every contract test uses.

    Documented for authors on `rerankit.testing.ProviderContract`, which combines this
    base with the test mixins.
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

        from ... import hookspecs

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
