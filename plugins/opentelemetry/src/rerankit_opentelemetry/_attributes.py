"""What the spans and metrics say about a call and an attempt: semantic-convention names.

The call span follows the GenAI client conventions (`gen_ai.*`, with `rerank` as the
operation name), the attempt span the HTTP client conventions (`http.*`, `url.full`,
`server.*`). What the conventions do not name is under `rerankit.*`. Nothing here ever
reads the query, the documents' texts or the API key: only counts, names and addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from opentelemetry.util.types import AttributeValue

from rerankit.lifecycle import AttemptContext, CallContext

__all__ = [
    "OPERATION",
    "SCHEMA_URL",
    "provider_name",
    "call_attributes",
    "outcome_attributes",
    "attempt_attributes",
    "error_type",
    "error_description",
    "metric_attributes",
]

OPERATION = "rerank"
#: The semantic-conventions version whose names we use (`gen_ai.provider.name` is 1.37's).
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

#: rerankit prefixes whose `gen_ai.provider.name` the conventions spell differently; the
#: other prefixes are used as they are (`nvidia_nim`, `jina_ai`, `voyage`, ...).
_PROVIDER_NAMES = {
    "cohere": "cohere",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: A status description longer than this is cut (an upstream's error text can be long).
MAX_DESCRIPTION = 1000

Attributes = dict[str, AttributeValue]


def provider_name(prefix: str) -> str:
    """`gen_ai.provider.name` for a rerankit prefix."""
    return _PROVIDER_NAMES.get(prefix, prefix)


@lru_cache(maxsize=256)  # a process talks to a few upstreams; parsing is half the cost
def server(url: str | None) -> Mapping[str, AttributeValue]:
    """`server.address` and `server.port` of a URL (already without credentials)."""
    if not url:
        return {}
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # an odd URL still gets its spans, without the server attributes
        return {}
    found: Attributes = {}
    if parts.hostname:
        found["server.address"] = parts.hostname
    if port:
        found["server.port"] = port
    return found


def call_attributes(call: CallContext) -> Attributes:
    """The call span's attributes known when it starts."""
    found: Attributes = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": provider_name(call.prefix),
        "gen_ai.request.model": call.provider_model,
        "rerankit.model": call.model,
        "rerankit.request.document_count": len(call.documents),
        **server(call.api_base),
    }
    if call.top_n is not None:
        found["rerankit.request.top_n"] = call.top_n
    return found


def outcome_attributes(call: CallContext) -> Attributes:
    """The call span's attributes known when it ends."""
    found: Attributes = {"rerankit.attempts": call.attempts, "rerankit.cached": call.cached}
    response = call.response
    if response is not None:
        if response.model:
            # The model that answered: a fallback's when the primary failed.
            found["gen_ai.response.model"] = response.model.split("/", 1)[-1]
            found["rerankit.response.model"] = response.model
        if response.id:
            found["gen_ai.response.id"] = response.id
        found["rerankit.response.result_count"] = len(response.results)
    if call.error is not None:
        found["error.type"] = error_type(call.error)
    return found


def attempt_attributes(call: CallContext, attempt: AttemptContext) -> Attributes:
    """An attempt span's attributes known when it starts."""
    start, stop = attempt.document_range
    found: Attributes = {
        "http.request.method": attempt.method,
        "url.full": attempt.url,  # the core strips credentials and the query string
        **server(attempt.url),
        "gen_ai.provider.name": provider_name(attempt.model.split("/", 1)[0]),
        "rerankit.model": attempt.model,
        "rerankit.attempt.document_count": stop - start,
    }
    if attempt.number > 1:
        found["http.request.resend_count"] = attempt.number - 1
    return found


def error_type(error: BaseException) -> str:
    """`error.type` for an exception: its class name (`RateLimitError`), low-cardinality."""
    return type(error).__qualname__


def error_description(error: BaseException, *, with_type: bool = True) -> str:
    """A span status description: the error's message (rerankit's never hold the key)."""
    text = f"{type(error).__qualname__}: {error}" if with_type else str(error)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def metric_attributes(call: CallContext) -> Attributes:
    """The attributes of the call's measurements (few values each: fit for metrics)."""
    found: Attributes = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": provider_name(call.prefix),
        "gen_ai.request.model": call.provider_model,
        "rerankit.cached": call.cached,
        **server(call.api_base),
    }
    response = call.response
    if response is not None and response.model:
        found["gen_ai.response.model"] = response.model.split("/", 1)[-1]
    if call.error is not None:
        found["error.type"] = error_type(call.error)
    return found
