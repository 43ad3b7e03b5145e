"""The asynchronous client, `AsyncClient`: native async I/O on a pooled HTTP client.

The pool is rerankit's own HTTP/1.1 client where it can serve the client, else an
aiohttp- or httpx-backed `httpx.AsyncClient` (`_transport` says which when).

The overall deadline is one `asyncio.timeout` around each model's whole call (every retry
and chunk), so a hang or a slow drip ends when the deadline does. A large call's chunks
are tasks, at most `max_concurrency` sending at once; the first chunk to fail cancels the
others. Cancelling the caller cancels every chunk, and the connections they were using
are closed (never reused half-read).

A local provider (BM25, an in-process model) computes without I/O: its `rerank` runs on
a small worker pool, so one large call does not stall every other coroutine of the
event loop (the proxy's other requests), and the deadline bounds the wait for it (the
computation itself cannot be interrupted; its result is dropped). A provider that
overrides `arerank` is awaited as it is.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Self

import httpx

from ._base_client import (
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    UNSET,
    CallArgs,
    CallOptions,
    ClientBase,
    DocumentLimits,
    TimeoutTypes,
    VerifyTypes,
    check_own_client,
    transport_error,
)
from ._fallback import failure_record, note_fallbacks, should_fall_back
from ._normalize import Normalize
from ._observe import attempt_headers, observed_end, observed_start
from ._pipeline import Part, Prepared, finish, merged, rank_part
from ._retry import CallStats
from ._senders import AsyncSender, SendError, async_sender
from ._transport import default_async_client, lean_async_sender
from .errors import ProviderError
from .provider import LocalProvider, ProviderRequest, Ranking
from .registry import ProviderRegistry
from .types import RerankAnswer, RerankResponse
from .validation import DocumentInput

__all__ = ["AsyncClient", "LOCAL_WORKERS"]

#: Threads running local providers' `rerank` for one client. Pure-Python scoring holds
#: the GIL, so more would not add throughput; a few keep one long call from queueing
#: every short one behind it.
LOCAL_WORKERS = 4


class AsyncClient(ClientBase):
    """An asynchronous rerank client; native async I/O on a pooled HTTP client.

    ```python
    async with rerankit.AsyncClient(timeout=5, fallbacks=["local/bm25"]) as client:
        response = await client.rerank("local/bm25", "query", ["a document"])
    ```

    Takes the same options as `Client` (`timeout`, `max_retries`, `fallbacks`,
    `max_documents_per_request`, `max_concurrency`, ...), per client and per call, and
    `max_response_bytes` per client. A local provider's `rerank` runs on a worker thread,
    within the call's `timeout`. `proxy=` and `verify=` work as for `Client`, and so do
    `HTTP(S)_PROXY`/`NO_PROXY` and `SSL_CERT_FILE`/`SSL_CERT_DIR`, on either transport.
    """

    def __init__(
        self,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        fallbacks: Sequence[str] | None = None,
        max_documents_per_request: DocumentLimits = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        retry_backoff: float = DEFAULT_BACKOFF,
        retry_backoff_max: float = DEFAULT_BACKOFF_MAX,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        registry: ProviderRegistry | None = None,
        drop_params: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        normalize: Normalize = None,
        plugins: Sequence[object] = (),
        proxy: str | None = None,
        verify: VerifyTypes = True,
    ) -> None:
        check_own_client(transport or http_client, proxy, verify)
        super().__init__(
            timeout=timeout,
            max_retries=max_retries,
            fallbacks=fallbacks,
            max_documents_per_request=max_documents_per_request,
            max_concurrency=max_concurrency,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
            registry=registry,
            drop_params=drop_params,
            max_response_bytes=max_response_bytes,
            normalize=normalize,
            plugins=plugins,
            proxy=proxy,
            verify=verify,
        )
        self._transport = transport
        self._http = http_client
        self._sender_: AsyncSender | None = None
        self._local_pool: ThreadPoolExecutor | None = None

    def _http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = default_async_client(
                self._transport, self.timeout, proxy=self.proxy, verify=self.verify
            )
        return self._http

    def _sender(self) -> AsyncSender:
        sender = self._sender_
        if sender is None:
            sender = self._sender_ = self._new_sender()
        return sender

    def _new_sender(self) -> AsyncSender:
        """rerankit's own HTTP/1.1 client where it serves exactly, else httpx/aiohttp."""

        def library() -> AsyncSender:
            return async_sender(self._http_client(), self.max_response_bytes)

        if self._transport is None and self._http is None:
            verify = self.verify
            if isinstance(verify, str):  # a CA bundle path
                verify = ssl.create_default_context(cafile=verify)
            lean = lean_async_sender(self.proxy, verify, self.max_response_bytes, library)
            if lean is not None:
                return lean  # type: ignore[no-any-return]
        return library()

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

        `timeout`, `max_retries`, `fallbacks`, `max_documents_per_request`,
        `max_concurrency` and `normalize` override the client's settings for this call.
        """
        return (
            await self.rerank_answer(
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
        ).response()

    async def rerank_answer(
        self,
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
    ) -> RerankAnswer:
        """`rerank`, answering plain data: a `RerankAnswer`, whose `response()` is the
        `RerankResponse` `rerank` returns, built only when asked for (docs/api.md)."""
        args = CallArgs(
            query,
            documents,
            top_n,
            return_documents,
            api_key,
            api_base,
            self.drop_params if drop_params is None else drop_params,
            params,
            max_documents_per_request,
        )
        prepared = self._prepare(model, args)  # bad input raises here, before any I/O
        options = self._options(timeout, max_retries, fallbacks, max_concurrency, normalize)
        hooks = self._hooks()
        if not hooks.active:
            return await self._chain(model, prepared, args, options)
        if not hooks.observes_calls:  # attempt hooks alone (the proxy's request id)
            options.hooks = hooks
            return await self._chain(model, prepared, args, options)
        call, cached = observed_start(
            hooks, model, prepared, is_async=True, normalize=options.normalize
        )
        if cached is not None:
            observed_end(hooks, call, cached.response(), None)
            return cached
        options.hooks, options.call = hooks, call
        try:
            answer = await self._chain(model, prepared, args, options)
            response = answer.response()  # what the hooks see
        except BaseException as error:
            observed_end(hooks, call, None, error)
            raise
        observed_end(hooks, call, response, None)
        return answer

    async def _chain(
        self, model: str, prepared: Prepared, args: CallArgs, options: CallOptions
    ) -> RerankAnswer:
        """The call through `model`, then each fallback in turn."""
        tried: list[dict[str, Any]] = []
        chain = (model, *options.fallbacks)
        for position, candidate in enumerate(chain):
            if position:
                prepared = self._prepare(candidate, args, primary=model)
                options.stats.clear()
            try:
                return await self._run(prepared, options, tried)
            except ProviderError as failed:
                error = self._scrubbed(prepared, failed)
                if position == len(chain) - 1 or not should_fall_back(error):
                    raise note_fallbacks(error, tried) from None
                tried.append(failure_record(candidate, error))
        raise AssertionError("unreachable: the chain always ends in a return or a raise")

    async def _run(
        self, prepared: Prepared, options: CallOptions, tried: list[dict[str, Any]]
    ) -> RerankAnswer:
        provider = prepared.provider
        if isinstance(provider, LocalProvider):
            # A local fallback is the last resort that answers even after an HTTP model
            # used up the deadline; the model asked for is held to it.
            limit = options.deadline.remaining() if not tried else None
            rankings = [
                rank_part(
                    prepared, p, await self._local(provider, p.request, prepared, options, limit)
                )
                for p in prepared.parts
            ]
        else:
            remaining = options.deadline.remaining()
            try:
                async with asyncio.timeout(remaining):
                    rankings = await self._send_parts(prepared, options)
            except TimeoutError:
                raise options.deadline_error(prepared) from None
        ranking = merged(prepared, rankings)
        if options.call is not None:
            options.call.ranking = ranking
        meta = self._meta(prepared, options, tried)
        return finish(prepared, ranking, meta, options.normalize)

    async def _local(
        self,
        provider: LocalProvider,
        request: ProviderRequest,
        prepared: Prepared,
        options: CallOptions,
        limit: float | None,
    ) -> Ranking:
        """A local provider's ranking, computed off the event loop, within `limit` seconds."""
        work: Any
        if type(provider).arerank is not LocalProvider.arerank:
            work = provider.arerank(request)  # the provider's own async form
        else:
            if self._local_pool is None:
                self._local_pool = ThreadPoolExecutor(LOCAL_WORKERS, "rerankit-local")
            # The caller's context (tracing spans, ...) goes along, as asyncio.to_thread does.
            run = functools.partial(contextvars.copy_context().run, provider.rerank, request)
            work = asyncio.get_running_loop().run_in_executor(self._local_pool, run)
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                ranking: Ranking = await work
        except TimeoutError:
            if scope.expired():
                raise options.deadline_error(prepared) from None
            raise
        return ranking

    async def _send_parts(self, prepared: Prepared, options: CallOptions) -> list[Ranking]:
        """Send every chunk, `options.concurrency` at a time; the first failure cancels all."""
        parts = prepared.parts
        if len(parts) == 1:  # the common case: no task, no semaphore
            return [await self._send_part(prepared, parts[0], options)]
        gate = asyncio.Semaphore(options.concurrency)

        async def gated(part: Part) -> Ranking:
            async with gate:
                return await self._send_part(prepared, part, options)

        tasks = [asyncio.create_task(gated(part)) for part in parts]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            return [task.result() for task in tasks]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _send_part(self, prepared: Prepared, part: Part, options: CallOptions) -> Ranking:
        """One chunk, retried per the policy; the caller's `asyncio.timeout` bounds it."""
        stats = options.new_stats()
        retry = 0
        while True:
            try:
                return await self._attempt(prepared, part, options, stats)
            except ProviderError as error:
                delay = options.policy.delay(error, retry, options.deadline)
                if delay is None:
                    raise self._gave_up(prepared, part, error, options, retry + 1) from None
            retry += 1
            stats.retries += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self, prepared: Prepared, part: Part, options: CallOptions, stats: CallStats
    ) -> Ranking:
        http = part.http
        assert http is not None
        stats.started()
        attempt = self._attempt_started(prepared, part, options, stats)
        try:
            answer = await self._sender().send(
                http,
                attempt_headers(http, attempt),
                options.deadline.remaining(),
                options.per_operation,
            )
        except SendError as exc:
            error = transport_error(prepared, part, exc)
            stats.record(error)
            self._attempt_ended(options, attempt, None, error)
            raise error from None
        except BaseException as exc:  # the size cap, the deadline, a cancelled chunk
            self._attempt_ended(options, attempt, None, exc)
            raise
        try:
            ranking = self._ranking(prepared, part, answer)
        except ProviderError as error:
            stats.record(error)
            self._attempt_ended(options, attempt, answer.status_code, error)
            raise
        stats.record(None, answer.status_code)
        self._attempt_ended(options, attempt, answer.status_code, None)
        return ranking

    async def aclose(self) -> None:
        """Close the connection pool (and the local providers' worker threads)."""
        if self._local_pool is not None:
            self._local_pool.shutdown(wait=False, cancel_futures=True)
            self._local_pool = None
        if self._sender_ is not None:
            await self._sender_.aclose()  # its pool, and the HTTP client it sends through
        elif self._http is not None:
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
