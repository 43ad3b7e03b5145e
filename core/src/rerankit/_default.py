"""Module-level `rerank` / `arerank`, backed by lazily created shared clients.

The sync client is created once per process. An async client is bound to the event loop
it first ran on (its connections belong to that loop), so one is kept per running loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from ._async_client import AsyncClient
from ._base_client import UNSET, TimeoutTypes
from ._client import Client
from ._normalize import Normalize
from .types import RerankResponse
from .validation import DocumentInput

__all__ = ["rerank", "arerank", "shared_client", "shared_async_client"]

_lock = threading.Lock()
_client: Client | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def shared_client() -> Client:
    """The process-wide sync client used by `rerankit.rerank`."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                _client = Client()
    return _client


def shared_async_client() -> AsyncClient:
    """The async client of the running event loop, used by `rerankit.arerank`."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = AsyncClient()
    return client


def rerank(
    model: str,
    query: str,
    documents: Sequence[DocumentInput],
    *,
    top_n: int | None = None,
    return_documents: bool = True,
    api_key: str | None = None,
    api_base: str | None = None,
    timeout: TimeoutTypes = UNSET,
    max_retries: int = UNSET,
    fallbacks: Sequence[str] | None = UNSET,
    max_documents_per_request: int | None = None,
    max_concurrency: int = UNSET,
    drop_params: bool | None = None,
    normalize: Normalize = UNSET,
    **params: Any,
) -> RerankResponse:
    """Rank `documents` by relevance to `query` with `model` (`prefix/model-name`).

    The arguments are those of `Client.rerank`, on a process-wide client with the default
    settings: `top_n`, `return_documents`, `api_key`, `api_base`, `timeout`,
    `max_retries`, `fallbacks`, `max_documents_per_request`, `max_concurrency`,
    `drop_params`, `normalize`, and provider parameters as further keywords.
    """
    return shared_client().rerank(
        model,
        query,
        documents,
        top_n=top_n,
        return_documents=return_documents,
        api_key=api_key,
        api_base=api_base,
        timeout=timeout,
        max_retries=max_retries,
        fallbacks=fallbacks,
        max_documents_per_request=max_documents_per_request,
        max_concurrency=max_concurrency,
        drop_params=drop_params,
        normalize=normalize,
        **params,
    )


async def arerank(
    model: str,
    query: str,
    documents: Sequence[DocumentInput],
    *,
    top_n: int | None = None,
    return_documents: bool = True,
    api_key: str | None = None,
    api_base: str | None = None,
    timeout: TimeoutTypes = UNSET,
    max_retries: int = UNSET,
    fallbacks: Sequence[str] | None = UNSET,
    max_documents_per_request: int | None = None,
    max_concurrency: int = UNSET,
    drop_params: bool | None = None,
    normalize: Normalize = UNSET,
    **params: Any,
) -> RerankResponse:
    """Async `rerank`: the arguments of `AsyncClient.rerank`, native async I/O."""
    return await shared_async_client().rerank(
        model,
        query,
        documents,
        top_n=top_n,
        return_documents=return_documents,
        api_key=api_key,
        api_base=api_base,
        timeout=timeout,
        max_retries=max_retries,
        fallbacks=fallbacks,
        max_documents_per_request=max_documents_per_request,
        max_concurrency=max_concurrency,
        drop_params=drop_params,
        normalize=normalize,
        **params,
    )
