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

from ._client import AsyncClient, Client
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
    model: str, query: str, documents: Sequence[DocumentInput], **kwargs: Any
) -> RerankResponse:
    """Rank `documents` by relevance to `query` with `model` (`prefix/model-name`).

    Keyword arguments are those of `Client.rerank`: `top_n`, `return_documents`,
    `api_key`, `api_base`, `timeout`, `max_retries`, `fallbacks`,
    `max_documents_per_request`, `max_concurrency`, `drop_params`, `normalize` and provider
    parameters.
    """
    return shared_client().rerank(model, query, documents, **kwargs)


async def arerank(
    model: str, query: str, documents: Sequence[DocumentInput], **kwargs: Any
) -> RerankResponse:
    """Async `rerank`: the same arguments, native async I/O."""
    return await shared_async_client().rerank(model, query, documents, **kwargs)
