"""The clients: `Client` (sync) and `AsyncClient` (async). They own all I/O.

Each holds one pooled httpx client, created on first HTTP use and reused for every call;
closing the rerankit client closes its pool. Sync is a plain `httpx.Client`, never a bridge
onto an event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from ._pipeline import Prepared, error_for_status, finish, prepare
from ._transport import default_async_client
from .errors import ProviderConnectionError, ProviderError, ProviderTimeoutError
from .provider import HttpProvider, LocalProvider
from .registry import ProviderRegistry, default_registry
from .types import RerankResponse
from .validation import DocumentInput
from .wire import HttpResponse

__all__ = ["Client", "AsyncClient", "DEFAULT_TIMEOUT"]

#: Seconds for a whole call unless the client or the call says otherwise.
DEFAULT_TIMEOUT = 60.0

TimeoutTypes = float | httpx.Timeout | None


class _ClientBase:
    """Configuration and the sans-I/O steps both clients share."""

    def __init__(
        self,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        registry: ProviderRegistry | None = None,
        drop_params: bool = False,
    ) -> None:
        self.timeout = timeout
        self.drop_params = drop_params
        self._registry = registry

    @property
    def registry(self) -> ProviderRegistry:
        """The providers this client routes to (the installed plugins by default)."""
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    def _prepare(
        self,
        model: str,
        query: str,
        documents: Sequence[DocumentInput],
        top_n: int | None,
        return_documents: bool,
        api_key: str | None,
        api_base: str | None,
        drop_params: bool | None,
        params: Mapping[str, Any],
    ) -> Prepared:
        return prepare(
            self.registry,
            model,
            query,
            documents,
            top_n=top_n,
            return_documents=return_documents,
            api_key=api_key,
            api_base=api_base,
            drop_params=self.drop_params if drop_params is None else drop_params,
            params=params,
        )

    def _timeout(self, timeout: TimeoutTypes | object) -> TimeoutTypes:
        return self.timeout if timeout is _UNSET else timeout  # type: ignore[return-value]

    @staticmethod
    def _finish(prepared: Prepared, response: httpx.Response) -> RerankResponse:
        wire = HttpResponse(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
        )
        if not 200 <= wire.status_code < 300:
            raise error_for_status(prepared, wire)
        provider = prepared.provider
        assert isinstance(provider, HttpProvider)
        return finish(prepared, provider.parse_response(wire, prepared.request))


_UNSET: Any = object()


class Client(_ClientBase):
    """A synchronous rerank client with a pooled connection per upstream host.

    ```python
    with rerankit.Client(timeout=10) as client:
        response = client.rerank("local/bm25", "query", ["a document", "another"])
    ```
    """

    def __init__(
        self,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        registry: ProviderRegistry | None = None,
        drop_params: bool = False,
    ) -> None:
        super().__init__(timeout=timeout, registry=registry, drop_params=drop_params)
        self._transport = transport
        self._http = http_client

    def _http_client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(transport=self._transport, timeout=self.timeout)
        return self._http

    def rerank(
        self,
        model: str,
        query: str,
        documents: Sequence[DocumentInput],
        *,
        top_n: int | None = None,
        return_documents: bool = True,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: TimeoutTypes = _UNSET,
        drop_params: bool | None = None,
        **params: Any,
    ) -> RerankResponse:
        """Rank `documents` by relevance to `query` with `model` (`prefix/model-name`)."""
        prepared = self._prepare(
            model, query, documents, top_n, return_documents, api_key, api_base, drop_params, params
        )
        provider = prepared.provider
        if isinstance(provider, LocalProvider):
            return finish(prepared, provider.rerank(prepared.request))
        http = prepared.http
        assert http is not None
        try:
            response = self._http_client().request(
                http.method,
                http.url,
                headers=http.headers,
                json=http.json,
                timeout=self._timeout(timeout),
            )
        except httpx.TransportError as exc:
            raise _transport_error(prepared, exc) from None
        return self._finish(prepared, response)

    def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """An asynchronous rerank client; native async I/O on a pooled `httpx.AsyncClient`.

    ```python
    async with rerankit.AsyncClient() as client:
        response = await client.rerank("local/bm25", "query", ["a document"])
    ```
    """

    def __init__(
        self,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        registry: ProviderRegistry | None = None,
        drop_params: bool = False,
    ) -> None:
        super().__init__(timeout=timeout, registry=registry, drop_params=drop_params)
        self._transport = transport
        self._http = http_client

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = default_async_client(self._transport, self.timeout)
        return self._http

    async def rerank(
        self,
        model: str,
        query: str,
        documents: Sequence[DocumentInput],
        *,
        top_n: int | None = None,
        return_documents: bool = True,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: TimeoutTypes = _UNSET,
        drop_params: bool | None = None,
        **params: Any,
    ) -> RerankResponse:
        """Rank `documents` by relevance to `query` with `model` (`prefix/model-name`)."""
        prepared = self._prepare(
            model, query, documents, top_n, return_documents, api_key, api_base, drop_params, params
        )
        provider = prepared.provider
        if isinstance(provider, LocalProvider):
            return finish(prepared, await provider.arerank(prepared.request))
        http = prepared.http
        assert http is not None
        try:
            response = await self._http_client().request(
                http.method,
                http.url,
                headers=http.headers,
                json=http.json,
                timeout=self._timeout(timeout),
            )
        except httpx.TransportError as exc:
            raise _transport_error(prepared, exc) from None
        return self._finish(prepared, response)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _transport_error(prepared: Prepared, exc: httpx.TransportError) -> ProviderError:
    request = prepared.request
    http = prepared.http
    # Scheme, host and path only: a query string could carry a credential.
    where = urlsplit(http.url)._replace(query="", fragment="").geturl() if http else "?"
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeoutError(
            f"{prepared.provider.name} did not answer in time ({kind}) at {where} for model "
            f"{request.full_model!r}. Raise timeout= or check the upstream.",
            provider=prepared.provider.name,
            model=request.full_model,
        )
    return ProviderConnectionError(
        f"Could not reach {prepared.provider.name} at {where} for model "
        f"{request.full_model!r} ({kind}: {exc}). Check api_base and that the server is up.",
        provider=prepared.provider.name,
        model=request.full_model,
    )
