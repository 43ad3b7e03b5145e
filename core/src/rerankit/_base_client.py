"""Configuration and the sans-I/O steps that `Client` and `AsyncClient` share.

Everything here is pure: resolving per-call options against the client's defaults,
preparing the primary model and each fallback, turning an upstream answer into a
`Ranking` or a typed error, and building the response's meta. The two clients add only
their concurrency primitives (threads or tasks) and a sender (`_senders`), which does the
I/O: nothing here knows the HTTP library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._body import DEFAULT_MAX_RESPONSE_BYTES, check_max_response_bytes
from ._chunking import describe_failed_chunk
from ._normalize import Normalize, check_normalize, warn_mixed_kinds
from ._observe import attempt_context, end_attempt
from ._pipeline import (
    Part,
    Prepared,
    call_secrets,
    check_limit,
    error_for_status,
    prepare,
    rank_part,
    redact,
    scrub,
)
from ._retry import (
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_MAX_RETRIES,
    CallStats,
    Deadline,
    RetryPolicy,
    deadline_error,
    note_attempts,
)
from ._senders import (
    SendError,
    TimeoutTypes,
    VerifyTypes,
    check_proxy,
    check_timeout,
    check_verify,
    is_per_operation,
)
from .errors import (
    InvalidParameterError,
    InvalidResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    excerpt,
)
from .lifecycle import AttemptContext, CallContext, Lifecycle
from .plugins import get_lifecycle
from .provider import HttpProvider, Ranking
from .registry import ProviderRegistry, default_registry
from .validation import DocumentInput
from .wire import HttpResponse, display_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_CONCURRENCY",
    "TimeoutTypes",
    "UNSET",
    "CallArgs",
    "CallOptions",
    "ClientBase",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "VerifyTypes",
    "check_own_client",
    "transport_error",
]

#: Seconds for a whole call (every retry, chunk and fallback) unless told otherwise.
DEFAULT_TIMEOUT = 60.0
#: Chunks of one call in flight at once. 8 x 512 documents keeps a NIM busy without
#: tripping its rate limit on one call; see docs/reliability.md for the measurements.
DEFAULT_MAX_CONCURRENCY = 8

#: Per-request document limits: one for every model, or by model string or prefix.
DocumentLimits = int | Mapping[str, int] | None

UNSET: Any = object()


@dataclass(slots=True)
class CallArgs:
    """The caller's arguments of one call, kept to prepare each model of the chain."""

    query: str
    documents: Sequence[DocumentInput]
    top_n: int | None
    return_documents: bool
    api_key: str | None
    api_base: str | None
    drop_params: bool
    params: Mapping[str, Any]
    max_documents_per_request: int | None


@dataclass(slots=True)
class CallOptions:
    """The reliability settings of one call, resolved against the client's defaults."""

    deadline: Deadline
    policy: RetryPolicy
    concurrency: int
    fallbacks: tuple[str, ...]
    #: How the answer's scores are normalised (`_normalize`); None: as the provider gave them.
    normalize: Normalize = None
    #: Per-operation timeouts the caller gave as an `httpx.Timeout` (no deadline); the
    #: sender applies them.
    per_operation: Any = None
    stats: list[CallStats] = field(default_factory=list)
    #: The life-cycle hooks and the call's context, when a plugin observes calls.
    hooks: Lifecycle | None = None
    call: CallContext | None = None

    def new_stats(self) -> CallStats:
        """Stats for one chunk's attempts; summed into the call's when it ends."""
        stats = CallStats()
        self.stats.append(stats)
        return stats

    def deadline_error(self, prepared: Prepared) -> ProviderTimeoutError:
        """The error for this call running out of its overall `timeout`."""
        return deadline_error(
            prepared.provider.name, prepared.request.full_model, self.deadline, self.total()
        )

    def total(self) -> CallStats:
        """The call's attempts so far, every chunk together."""
        total = CallStats()
        for stats in self.stats:
            total.attempts += stats.attempts
            total.retries += stats.retries
            total.last_status = stats.last_status or total.last_status
        return total


class ClientBase:
    """Configuration and the pure steps both clients share."""

    def __init__(
        self,
        *,
        timeout: TimeoutTypes,
        max_retries: int,
        fallbacks: Sequence[str] | None,
        max_documents_per_request: DocumentLimits,
        max_concurrency: int,
        retry_backoff: float,
        retry_backoff_max: float,
        registry: ProviderRegistry | None,
        drop_params: bool,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        normalize: Normalize = None,
        plugins: Sequence[object] = (),
        proxy: str | None = None,
        verify: VerifyTypes = True,
    ) -> None:
        self.timeout = check_timeout(timeout)
        #: The forward proxy for every upstream (None: `HTTP(S)_PROXY`/`NO_PROXY`'s).
        self.proxy = check_proxy(proxy)
        #: TLS verification of upstreams (True: the system's or `SSL_CERT_FILE`'s CAs).
        self.verify = check_verify(verify)
        #: Largest upstream answer accepted, in bytes once decompressed.
        self.max_response_bytes = check_max_response_bytes(max_response_bytes)
        self.max_retries = _check_retries(max_retries)
        self.fallbacks = _check_fallbacks(fallbacks)
        self.max_documents_per_request = _check_limits(max_documents_per_request)
        self.max_concurrency = _concurrency(max_concurrency)
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.drop_params = drop_params
        self.normalize = check_normalize(normalize)
        self._registry = registry
        #: Life-cycle plugins of this client only (a cache, a tracer), run before the
        #: installed ones; `_hooks` joins them, once per set of installed plugins.
        self.plugins = tuple(plugins)
        self._own_hooks = Lifecycle.of(self.plugins) if self.plugins else None
        self._joined: tuple[Lifecycle, Lifecycle] | None = None
        #: (primary, fallback) pairs already warned about for mixing score kinds.
        self._warned_kinds: set[tuple[str, str]] = set()

    def _hooks(self) -> Lifecycle:
        """The life-cycle hooks for this client's calls: its own plugins, then the installed."""
        installed = get_lifecycle()
        if self._own_hooks is None:
            return installed
        joined = self._joined
        if joined is None or joined[0] is not installed:
            joined = self._joined = (installed, self._own_hooks.then(installed))
        return joined[1]

    @property
    def registry(self) -> ProviderRegistry:
        """The providers this client routes to (the installed plugins by default)."""
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    def _options(
        self,
        timeout: object,
        max_retries: object,
        fallbacks: object,
        max_concurrency: object,
        normalize: object = UNSET,
    ) -> CallOptions:
        if type(timeout) is float and timeout > 0:  # the common override (the proxy's)
            chosen: TimeoutTypes = timeout
        else:
            chosen = self.timeout if timeout is UNSET else check_timeout(timeout)
        chain = self.fallbacks if fallbacks is UNSET else _check_fallbacks(fallbacks)
        for model in chain:
            self.registry.resolve(model)  # a typo in the chain fails now, not mid-outage
        retries = self.max_retries if max_retries is UNSET else _check_retries(max_retries)
        concurrency = (
            self.max_concurrency if max_concurrency is UNSET else _concurrency(max_concurrency)
        )
        per_operation = is_per_operation(chosen)
        # Positional: a dataclass built by keyword costs a third more.
        return CallOptions(
            Deadline(None if per_operation else chosen),  # type: ignore[arg-type]
            RetryPolicy(retries, self.retry_backoff, self.retry_backoff_max),
            concurrency,
            chain,
            self.normalize if normalize is UNSET else check_normalize(normalize),
            chosen if per_operation else None,
        )

    def _prepare(self, model: str, args: CallArgs, *, primary: str | None = None) -> Prepared:
        """Prepare `model` for this call; `primary` is set when `model` is a fallback.

        A fallback gets the call's key and base URL only if it has the primary's prefix
        (a key meant for one vendor is never sent to another), and only the
        provider-specific parameters it accepts.
        """
        same_vendor = primary is None or model.split("/", 1)[0] == primary.split("/", 1)[0]
        return prepare(
            self.registry,
            model,
            args.query,
            args.documents,
            top_n=args.top_n,
            return_documents=args.return_documents,
            api_key=args.api_key if same_vendor else None,
            api_base=args.api_base if same_vendor else None,
            drop_params=args.drop_params if primary is None else True,
            params=args.params,
            max_documents_per_request=self._limit_for(model, args.max_documents_per_request),
            warn_dropped=primary is None,
        )

    def _limit_for(self, model: str, per_call: int | None) -> int | None:
        if per_call is not None:
            return per_call
        limits = self.max_documents_per_request
        if limits is None or isinstance(limits, int):
            return limits
        return limits.get(model, limits.get(model.split("/", 1)[0]))

    @staticmethod
    def _ranking(prepared: Prepared, part: Part, response: HttpResponse) -> Ranking:
        """The chunk's checked `Ranking` from a complete upstream answer, or a typed error."""
        if not 200 <= response.status_code < 300:
            raise error_for_status(prepared, response)
        provider = prepared.provider
        assert isinstance(provider, HttpProvider)
        try:
            ranking = provider.parse_response(response, part.request)
        except ProviderError as error:
            if error.body is not None:  # masked before it is cut, so no key half survives
                error.body = excerpt(redact(response.text, part.request.api_key))
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # A provider tripping over an odd answer is still an odd answer, not a crash.
            raise InvalidResponseError(
                f"{provider.name} sent an answer that could not be parsed for model "
                f"{part.request.full_model!r} ({type(exc).__name__}: "
                f"{redact(str(exc), part.request.api_key)}).",
                provider=provider.name,
                model=part.request.full_model,
                status_code=response.status_code,
                body=redact(response.text, part.request.api_key),
            ) from None
        return rank_part(prepared, part, ranking)

    @staticmethod
    def _gave_up(
        prepared: Prepared, part: Part, error: ProviderError, options: CallOptions, tries: int
    ) -> ProviderError:
        """The error a chunk raises after its last attempt, saying what was tried."""
        if isinstance(error, ProviderTimeoutError) and options.deadline.expired():
            # The deadline's own message already counts the call's attempts.
            error = options.deadline_error(prepared)
        else:
            note_attempts(error, options.total(), tries)
        return describe_failed_chunk(
            error, part.documents, len(prepared.request.documents), prepared.request.documents
        )

    @staticmethod
    def _scrubbed(prepared: Prepared, error: ProviderError) -> ProviderError:
        """`error` with the call's secrets masked, however and wherever it was built."""
        scrub(error, call_secrets(prepared.request))
        return error

    @staticmethod
    def _attempt_started(
        prepared: Prepared, part: Part, options: CallOptions, stats: CallStats
    ) -> AttemptContext | None:
        """Count an attempt for the hooks, and announce it when they observe attempts."""
        call, hooks = options.call, options.hooks
        if hooks is None:
            return None
        if call is not None:
            call.attempts += 1
        if not hooks.observes_attempts or part.http is None:
            return None
        model = prepared.request.full_model
        return attempt_context(hooks, call, model, part, part.http, stats.attempts)

    @staticmethod
    def _attempt_ended(
        options: CallOptions,
        attempt: AttemptContext | None,
        status_code: int | None,
        error: BaseException | None,
    ) -> None:
        """Tell the hooks how an announced attempt ended."""
        if attempt is not None and options.hooks is not None:
            end_attempt(options.hooks, options.call, attempt, status_code, error)

    def _meta(
        self, prepared: Prepared, options: CallOptions, tried: list[dict[str, Any]]
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"attempts": options.total().attempts}
        if len(prepared.parts) > 1:
            meta["chunks"] = len(prepared.parts)
        if options.fallbacks:
            meta["fallbacks_tried"] = tried
            if tried:  # a fallback answered: warn once if its scores read differently
                primary = self.registry.resolve(tried[0]["model"])[1]
                warn_mixed_kinds(
                    self._warned_kinds, tried[0]["model"], primary, prepared, options.normalize
                )
        return meta


def check_own_client(given: object, proxy: str | None, verify: VerifyTypes) -> None:
    """`proxy=`/`verify=` configure the pool rerankit builds: refuse them with the caller's."""
    if given is not None and (proxy is not None or verify is not True):
        raise InvalidParameterError(
            "proxy= and verify= configure the HTTP client rerankit builds; with your own "
            "transport= or http_client=, configure that one instead.",
            parameter="proxy" if proxy is not None else "verify",
        )


def transport_error(prepared: Prepared, part: Part, exc: SendError) -> ProviderError:
    """The typed error for a request that got no complete answer."""
    request = part.request
    http = part.http
    # Scheme, host and path only: userinfo and a query string could carry a credential.
    where = display_url(http.url) if http else "?"
    kind = exc.name
    name = prepared.provider.name
    if exc.kind == "too_large":
        said = f"; its Content-Length says {exc.declared}" if exc.declared is not None else ""
        return InvalidResponseError(
            f"{name} sent an answer larger than max_response_bytes={exc.limit} (decompressed"
            f"{said}) at {where} for model {request.full_model!r}. Raise max_response_bytes= "
            f"on the client (the proxy: limits.max_response_bytes) if such answers are expected.",
            provider=name,
            model=request.full_model,
        )
    if exc.kind == "timeout":
        return ProviderTimeoutError(
            f"{name} did not answer in time ({kind}) at {where} for model "
            f"{request.full_model!r}. Raise timeout= or check the upstream.",
            provider=name,
            model=request.full_model,
        )
    if exc.kind == "decode":
        return InvalidResponseError(
            f"{name} sent a body that could not be decoded at {where} for model "
            f"{request.full_model!r} ({kind}: {exc}).",
            provider=name,
            model=request.full_model,
        )
    return ProviderConnectionError(
        f"Could not reach {name} at {where} for model "
        f"{request.full_model!r} ({kind}: {exc}). Check api_base and that the server is up.",
        provider=name,
        model=request.full_model,
    )


def _check_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(
            f"max_retries must be a whole number >= 0, got {value!r}.", parameter="max_retries"
        )
    return value


def _concurrency(value: object) -> int:
    checked = check_limit(value, "max_concurrency")
    if checked is None:
        raise InvalidParameterError(
            "max_concurrency must be a whole number >= 1, got None.", parameter="max_concurrency"
        )
    return checked


def _check_fallbacks(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidParameterError(
            f"fallbacks must be a list of model strings, got {type(value).__name__} {value!r}.",
            parameter="fallbacks",
        )
    for model in value:
        if not isinstance(model, str) or "/" not in model:
            raise InvalidParameterError(
                f"fallbacks must hold model strings like 'local/bm25', got {model!r}.",
                parameter="fallbacks",
            )
    return tuple(value)


def _check_limits(value: object) -> DocumentLimits:
    if isinstance(value, Mapping):
        return {str(k): _concurrency_like(v) for k, v in value.items()}
    return check_limit(value)


def _concurrency_like(value: object) -> int:
    checked = check_limit(value)
    if checked is None:
        raise InvalidParameterError(
            "max_documents_per_request values must be whole numbers >= 1, got None.",
            parameter="max_documents_per_request",
        )
    return checked
