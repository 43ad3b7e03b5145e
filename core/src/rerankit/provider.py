"""What a provider is: the base classes plugins subclass, and the values they exchange.

A provider comes in one of two forms:

- `HttpProvider` (most providers): sans-I/O. `build_request` turns a `ProviderRequest`
  into an `HttpRequest`; `parse_response` turns the `HttpResponse` into a `Ranking`. No
  `async`, no sockets: the sync and async clients own all I/O.
- `LocalProvider`: scores in-process (a local model, BM25) by implementing `rerank`, and
  `arerank` when it has a better async form than calling `rerank`.

Either way the provider returns a `Ranking` (index, score pairs); sorting, `top_n`,
attaching documents and index checks happen once, in the core.

This module imports neither httpx nor pydantic, so resolving a provider stays cheap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import InvalidParameterError
from .wire import HttpRequest, HttpResponse

__all__ = [
    "CALL_ARGUMENTS",
    "Param",
    "ScoreKind",
    "ProviderRequest",
    "Ranking",
    "Provider",
    "HttpProvider",
    "LocalProvider",
]

#: The unified call's own arguments (`Client.rerank`'s keywords, kept in step by a test):
#: never a provider parameter's name. Adapters and gateways refuse them inside a
#: provider-parameter mapping, where they would bypass their own option (a key there
#: would escape masking).
CALL_ARGUMENTS = frozenset(
    {
        "model",
        "query",
        "documents",
        "top_n",
        "return_documents",
        "api_key",
        "api_base",
        "timeout",
        "max_retries",
        "fallbacks",
        "max_documents_per_request",
        "max_concurrency",
        "drop_params",
        "normalize",
    }
)

#: What a provider's scores mean: probabilities in 0..1, raw logits (unbounded),
#: BM25 (unbounded, >= 0), or unknown. A response may also say "minmax": scaled to 0..1
#: within that answer by `normalize="minmax"` (never a provider's own kind).
ScoreKind = Literal["probability", "logit", "bm25", "unknown", "minmax"]


@dataclass(frozen=True, slots=True)
class Param:
    """A provider-specific parameter: its type, allowed values and meaning.

    `validate` returns the value to send or raises `InvalidParameterError` naming the
    parameter and what is allowed.
    """

    type: type | tuple[type, ...]
    description: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def validate(self, name: str, value: Any) -> Any:
        """Check `value` for the parameter `name`; return it unchanged when valid."""
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        # bool is an int subclass, but True is no valid count or threshold.
        bool_sneaks_in = isinstance(value, bool) and bool not in types
        if bool_sneaks_in or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise InvalidParameterError(
                f"Parameter {name!r} must be {wanted}, got {type(value).__name__} {value!r}.",
                parameter=name,
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise InvalidParameterError(
                f"Parameter {name!r} must be one of {allowed}; got {value!r}.", parameter=name
            )
        number: Any = value  # isinstance above narrowed `value` to object
        if isinstance(number, int | float) and not _finite(number):
            # NaN passes every comparison below; no provider parameter means infinity
            # (nor an integer too large to be a float, as 10**400).
            raise InvalidParameterError(
                f"Parameter {name!r} must be a finite number; got {value!r}.", parameter=name
            )
        if self.minimum is not None and number < self.minimum:
            raise InvalidParameterError(
                f"Parameter {name!r} must be >= {self.minimum}; got {value!r}.", parameter=name
            )
        if self.maximum is not None and number > self.maximum:
            raise InvalidParameterError(
                f"Parameter {name!r} must be <= {self.maximum}; got {value!r}.", parameter=name
            )
        return value


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """One validated rerank call, as a provider sees it.

    `model` is the part of the model string after the prefix. `api_key` and `api_base`
    are resolved from the arguments, then the provider's environment variables; `None`
    means "not given" (the provider applies its default or decides a key is required).
    The key is left out of the repr.
    """

    prefix: str
    model: str
    query: str
    documents: tuple[str, ...]
    top_n: int | None = None
    return_documents: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    api_key: str | None = field(default=None, repr=False)
    api_base: str | None = None

    @property
    def full_model(self) -> str:
        """The model string as the caller wrote it: `prefix/model`."""
        return f"{self.prefix}/{self.model}"


@dataclass(slots=True)
class Ranking:
    """A provider's answer: `(index, score)` pairs into the request's documents.

    Order does not matter; the core sorts. `partial` says the upstream returned only its
    best results (the provider forwarded `top_n`); otherwise every document must be scored
    exactly once, and the core rejects a ranking that misses or repeats one.

    `model` is deprecated and ignored (the response names the model the caller asked
    for); passing it warns. It goes in 0.4.0.
    """

    scores: list[tuple[int, float]]
    id: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    partial: bool = False

    def __post_init__(self) -> None:
        if self.model is not None:
            warnings.warn(
                "Ranking(model=...) is deprecated and ignored: the response names the model "
                "the caller asked for. Leave it out; it is removed in rerankit 0.4.0.",
                DeprecationWarning,
                stacklevel=3,  # __post_init__, the dataclass __init__, the provider
            )


class Provider:
    """Common description of a provider. Subclass `HttpProvider` or `LocalProvider`."""

    #: Human-readable name used in messages, e.g. "Nvidia NIM".
    name: ClassVar[str] = "provider"
    #: Environment variable holding the API key, if the provider takes one.
    api_key_env: ClassVar[str | None] = None
    #: Further variables read for the key when `api_key_env` is unset, in order (e.g.
    #: the name the vendor's own SDK reads, so a key already set for it works here).
    api_key_env_aliases: ClassVar[tuple[str, ...]] = ()
    #: Environment variables for the base URL, most specific first.
    api_base_env: ClassVar[tuple[str, ...]] = ()
    #: What the scores mean, so thresholds can be compared across providers.
    score_kind: ClassVar[ScoreKind] = "unknown"
    #: Most documents one upstream request may carry (None: no limit).
    max_documents_per_request: ClassVar[int | None] = None
    #: Provider-specific parameters accepted besides the unified ones.
    params: ClassVar[Mapping[str, Param]] = {}
    #: Model names (without the prefix) the provider knows, for listings such as
    #: `rerankit providers --models`. Empty: no catalogue (any name the upstream serves).
    known_models: ClassVar[tuple[str, ...]] = ()

    def score_kind_for(self, request: ProviderRequest) -> ScoreKind:
        """What the scores of this call mean; `score_kind` unless a parameter changes it.

        Override when a request parameter switches the scale (e.g. TEI's `raw_scores`
        turns probabilities into logits).
        """
        return self.score_kind

    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable this provider reads."""
        key = (self.api_key_env,) if self.api_key_env else ()
        return key + self.api_key_env_aliases + self.api_base_env


class HttpProvider(Provider):
    """A provider reached over HTTP, written without I/O."""

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        """Map a validated request to the upstream's wire form. Raise, never send."""
        raise NotImplementedError

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        """Turn a successful (2xx) upstream answer into a `Ranking`.

        Raise `InvalidResponseError` for an answer that cannot be parsed. Error statuses
        never reach this method: the client maps them to typed errors, using
        `error_message` to extract the upstream's own words.
        """
        raise NotImplementedError

    def error_message(self, response: HttpResponse) -> str | None:
        """The upstream's message in an error answer, if it has one we can read."""
        try:
            body = response.json()
        except ValueError:
            return None
        return _find_message(body)


class LocalProvider(Provider):
    """A provider that scores in this process and needs no HTTP."""

    def rerank(self, request: ProviderRequest) -> Ranking:
        """Score the documents."""
        raise NotImplementedError

    async def arerank(self, request: ProviderRequest) -> Ranking:
        """Score the documents from async code; by default calls `rerank`."""
        return self.rerank(request)


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int beyond any float
        return False


def _find_message(body: Any) -> str | None:
    """The human message in the common error shapes: detail, message, error{message}.

    `msg` covers FastAPI's validation errors (`{"detail": [{"loc", "msg", "type"}]}`),
    which self-hosted servers such as Infinity answer with.
    """
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "title", "msg"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            found = _find_message(value)
            if found:
                return found
    if isinstance(body, list) and body:
        return _find_message(body[0])
    return None
