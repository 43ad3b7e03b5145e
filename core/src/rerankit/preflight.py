"""Check a rerank call's setup without sending anything: for gateways and start-up checks.

A gateway (rerankit's own proxy, or a third party's) reads a list of deployments at
start-up and wants every mistake then, not on the first request: an unknown prefix, a
parameter the provider does not take or a value it refuses, a missing API key, a base
URL the provider cannot use, an unknown `normalize`. `check_call` runs exactly the steps
a real call runs before its first byte is sent (resolving the model, checking the
parameters, building the upstream request) on a one-document call, and does no I/O.

```python
from rerankit.preflight import check_call

checked = check_call("local/bm25", normalize="minmax")
checked.prefix, checked.model, checked.score_kind
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._normalize import check_normalize, normalized_kind
from ._pipeline import prepare
from .provider import Provider, ScoreKind
from .registry import ProviderRegistry, default_registry

__all__ = ["CheckedCall", "check_call", "score_kind_after"]

#: What the dry run sends through the provider's request builder (never over the wire).
_PROBE = "configuration check"


@dataclass(frozen=True)
class CheckedCall:
    """What `check_call` found: where the call goes and what its scores will be."""

    #: The provider prefix (`nvidia_nim` of `nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2`).
    prefix: str
    #: The model name after the prefix, as the provider receives it.
    model: str
    #: The provider registered for `prefix`.
    provider: Provider = field(repr=False)
    #: The provider parameters the call would send (after `drop_params`).
    params: Mapping[str, Any]
    #: The score kind of the answers, after `normalize` (`meta.score_kind`).
    score_kind: ScoreKind


def check_call(
    model: str,
    *,
    params: Mapping[str, Any] | None = None,
    api_key: str | None = None,
    api_base: str | None = None,
    normalize: str | None = None,
    drop_params: bool = False,
    registry: ProviderRegistry | None = None,
) -> CheckedCall:
    """Check that a call to `model` with these settings could be sent; send nothing.

    Raises the `rerankit.errors.RerankitError` the first real call would raise before any
    I/O (`UnknownProviderError`, `InvalidParameterError`, `MissingApiKeyError`,
    `ConfigurationError` for a bad base URL, ...), with keys redacted as in any error.
    `api_key` and `api_base` default to the provider's environment variables, as in a
    call. `drop_params=True` drops unknown parameters silently (a gateway reports them its
    own way). `registry` defaults to the installed providers.
    """
    how = check_normalize(normalize)
    prepared = prepare(
        registry or default_registry(),
        model,
        _PROBE,
        [_PROBE],
        top_n=None,
        return_documents=False,
        api_key=api_key,
        api_base=api_base,
        drop_params=drop_params,
        params=params or {},
        warn_dropped=False,
    )
    request = prepared.request
    kind = prepared.provider.score_kind_for(request)
    return CheckedCall(
        prefix=request.prefix,
        model=request.model,
        provider=prepared.provider,
        params=dict(request.params),
        score_kind=normalized_kind(kind, how),
    )


def score_kind_after(kind: ScoreKind, normalize: str | None) -> ScoreKind:
    """What scores of `kind` are after `normalize` (None, "sigmoid" or "minmax").

    For a gateway that knows a provider's kind (`Provider.score_kind_for`) without a
    concrete model to check, e.g. a wildcard deployment. An unknown `normalize` raises
    `InvalidParameterError`.
    """
    return normalized_kind(kind, check_normalize(normalize))
