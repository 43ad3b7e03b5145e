"""The synchronous client, `Client`. It owns all of its I/O.

Each holds one connection pool, created on first HTTP use and reused for every call,
behind a sender: rerankit's own HTTP/1.1 client (`_http1_sync.LeanSender`) where it can
serve the client, else an `httpx.Client` (`_senders.HttpxSender`; `_transport` says
which when). This module sends `wire.HttpRequest`s and gets `wire.HttpResponse`s.
Closing the rerankit client closes its pool. Sync is blocking sockets, never a bridge
onto an event loop.

The overall deadline: httpx's timeouts are per operation, so a server that drips a byte
every second never trips a read timeout. The sync client therefore streams each answer,
checks the deadline between the pieces it reads, gives every operation only what is left
of the call, and (on the pools it creates) caps every socket operation at the deadline
(`_deadline_io`), so a stall after a few bytes ends at the deadline too.

A large call's chunks run on a small thread pool (`max_concurrency` threads, created only
when a call has more than one chunk).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
from ._senders import DEFAULT_HEADERS, HttpxSender, Sender, SendError, sync_http_client
from ._transport import lean_sync_sender
from .errors import ProviderError
from .provider import LocalProvider, Ranking
from .registry import ProviderRegistry
from .types import RerankAnswer, RerankResponse
from .validation import DocumentInput

__all__ = ["Client", "DEFAULT_TIMEOUT"]


class _Cancelled(Exception):
    """Another chunk of the call failed; this one stops at its next check."""


class Client(ClientBase):
    """A synchronous rerank client with a pooled connection per upstream host.

    ```python
    with rerankit.Client(timeout=10, max_retries=3, fallbacks=["local/bm25"]) as client:
        response = client.rerank("local/bm25", "query", ["a document", "another"])
    ```

    `timeout` (seconds) bounds a whole call: every retry, chunk and fallback.
    `max_retries` retries a chunk on 408/429/5xx, timeouts and connection errors.
    `fallbacks` are models tried in order when the model fails after its retries.
    `max_documents_per_request` overrides the providers' per-request limits (an int for
    every model, or a mapping from model string or prefix to an int); larger calls are
    split and sent `max_concurrency` chunks at a time. Every option can also be passed to
    `rerank` for one call. `max_response_bytes` (64 MiB by default) bounds an upstream's
    answer once decompressed; a larger one is an `InvalidResponseError`.

    Upstreams are reached through `HTTP(S)_PROXY`/`NO_PROXY` and verified against
    `SSL_CERT_FILE`/`SSL_CERT_DIR` (else the system's CAs), as for any httpx client;
    `proxy=` (a forward proxy URL) and `verify=` (False, a CA bundle path or an
    `ssl.SSLContext`) override them.
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
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
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
        self._http_lock = threading.Lock()
        self._sender_: Sender | None = None

    def _sender(self) -> Sender:
        sender = self._sender_
        if sender is None:
            with self._http_lock:  # chunk threads may race to create it
                sender = self._sender_
                if sender is None:
                    sender = self._sender_ = self._new_sender()
        return sender

    def _new_sender(self) -> Sender:
        """rerankit's own HTTP/1.1 client where it serves exactly, else `httpx.Client`."""
        if self._http is None and self._transport is None:
            verify = self.verify
            if isinstance(verify, str):  # a CA bundle path
                verify = ssl.create_default_context(cafile=verify)
            lean = lean_sync_sender(self.proxy, verify, self.max_response_bytes, self._httpx)
            if lean is not None:
                return lean  # type: ignore[no-any-return]
        return self._httpx()

    def _httpx(self) -> HttpxSender:
        """The sender on `httpx.Client` (the caller's, or one built here)."""
        capped = False
        if self._http is None and self._transport is None:
            self._http, capped = sync_http_client(self.timeout, self.proxy, self.verify)
        elif self._http is None:
            self._http = httpx.Client(
                transport=self._transport, timeout=self.timeout, headers=DEFAULT_HEADERS
            )
        return HttpxSender(self._http, self.max_response_bytes, capped)

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
            self.rerank_answer(
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

    def rerank_answer(
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
            return self._chain(model, prepared, args, options)
        if not hooks.observes_calls:  # attempt hooks alone (the proxy's request id)
            options.hooks = hooks
            return self._chain(model, prepared, args, options)
        call, cached = observed_start(
            hooks, model, prepared, is_async=False, normalize=options.normalize
        )
        if cached is not None:
            observed_end(hooks, call, cached.response(), None)
            return cached
        options.hooks, options.call = hooks, call
        try:
            answer = self._chain(model, prepared, args, options)
            response = answer.response()  # what the hooks see
        except BaseException as error:
            observed_end(hooks, call, None, error)
            raise
        observed_end(hooks, call, response, None)
        return answer

    def _chain(
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
                return self._run(prepared, options, tried)
            except ProviderError as failed:
                error = self._scrubbed(prepared, failed)
                if position == len(chain) - 1 or not should_fall_back(error):
                    raise note_fallbacks(error, tried) from None
                tried.append(failure_record(candidate, error))
        raise AssertionError("unreachable: the chain always ends in a return or a raise")

    def _run(
        self, prepared: Prepared, options: CallOptions, tried: list[dict[str, Any]]
    ) -> RerankAnswer:
        provider = prepared.provider
        if isinstance(provider, LocalProvider):
            rankings = [rank_part(prepared, p, provider.rerank(p.request)) for p in prepared.parts]
        elif len(prepared.parts) == 1 or options.concurrency == 1:
            rankings = [self._send_part(prepared, p, options, None) for p in prepared.parts]
        else:
            rankings = self._send_parts(prepared, options)
        ranking = merged(prepared, rankings)
        if options.call is not None:
            options.call.ranking = ranking
        meta = self._meta(prepared, options, tried)
        return finish(prepared, ranking, meta, options.normalize)

    def _send_parts(self, prepared: Prepared, options: CallOptions) -> list[Ranking]:
        """Send every chunk, `options.concurrency` at a time; the first failure fails all.

        On a failure the call raises at once: chunks not yet started never start, and
        chunks in flight stop at their next check (between retries and between the
        pieces of an answer); their results are discarded.
        """
        parts = prepared.parts
        results: list[Ranking | None] = [None] * len(parts)
        cancelled = threading.Event()
        pool = ThreadPoolExecutor(
            max_workers=min(options.concurrency, len(parts)), thread_name_prefix="rerankit"
        )
        running: dict[Future[Ranking], int] = {}
        upcoming = iter(range(len(parts)))

        def start(index: int) -> None:
            future = pool.submit(self._send_part, prepared, parts[index], options, cancelled)
            running[future] = index

        try:
            for index in upcoming:
                start(index)
                if len(running) >= options.concurrency:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for finished in done:
                    index = running.pop(finished)
                    results[index] = finished.result()  # raises the chunk's error
                    following = next(upcoming, None)
                    if following is not None:
                        start(following)
        finally:
            cancelled.set()
            pool.shutdown(wait=False, cancel_futures=True)
        return [r for r in results if r is not None]

    def _send_part(
        self,
        prepared: Prepared,
        part: Part,
        options: CallOptions,
        cancelled: threading.Event | None,
    ) -> Ranking:
        """One chunk, retried per the policy within the call's deadline."""
        stats = options.new_stats()
        retry = 0
        while True:
            try:
                return self._attempt(prepared, part, options, stats, cancelled)
            except ProviderError as error:
                delay = options.policy.delay(error, retry, options.deadline)
                if delay is None or (cancelled is not None and cancelled.is_set()):
                    raise self._gave_up(prepared, part, error, options, retry + 1) from None
            retry += 1
            stats.retries += 1
            if cancelled is None:
                time.sleep(delay)
            elif cancelled.wait(delay):
                raise _Cancelled

    def _attempt(
        self,
        prepared: Prepared,
        part: Part,
        options: CallOptions,
        stats: CallStats,
        cancelled: threading.Event | None,
    ) -> Ranking:
        http = part.http
        assert http is not None
        if options.deadline.expired():
            raise options.deadline_error(prepared)
        stats.started()
        attempt = self._attempt_started(prepared, part, options, stats)
        deadline = options.deadline

        def check() -> None:  # between the pieces of the answer
            if deadline.expired():
                raise options.deadline_error(prepared)
            if cancelled is not None and cancelled.is_set():
                raise _Cancelled

        try:
            answer = self._sender().send(
                http,
                attempt_headers(http, attempt),
                deadline.remaining(),
                options.per_operation,
                deadline.at,
                check,
                cancelled is not None,
            )
        except SendError as exc:
            error = transport_error(prepared, part, exc)
            stats.record(error)
            self._attempt_ended(options, attempt, None, error)
            raise error from None
        except BaseException as exc:  # the deadline, a cancelled chunk
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

    def close(self) -> None:
        """Close the connection pool."""
        if self._sender_ is not None:
            self._sender_.close()  # its pool, and the httpx client it sends through
        elif self._http is not None:
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
