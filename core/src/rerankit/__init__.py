"""rerankit: one API for every rerank model.

```python
import rerankit
response = rerankit.rerank("local/bm25", "what is the memory bandwidth of H100",
                           ["H100 delivers 3TB/s", "A100 has 2TB/s"])
response.results[0].index, response.results[0].relevance_score
```

Names are imported on first use, so `import rerankit` stays cheap; providers resolve
without loading httpx or pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .hookspecs import hookimpl

__version__ = "0.2.0"

__all__ = [
    "__version__",
    # calls and clients
    "rerank",
    "arerank",
    "Client",
    "AsyncClient",
    # types
    "RerankRequest",
    "RerankResponse",
    "RerankAnswer",
    "RerankResult",
    "RerankMeta",
    "Document",
    # writing providers
    "hookimpl",
    "Provider",
    "HttpProvider",
    "LocalProvider",
    "ProviderRequest",
    "Ranking",
    "Param",
    "HttpRequest",
    "HttpResponse",
    "ProviderRegistry",
    # warnings and errors
    "RerankitWarning",
    "RerankitError",
    "ConfigurationError",
    "UnknownProviderError",
    "DuplicateProviderError",
    "MissingApiKeyError",
    "PluginLoadError",
    "InvalidRequestError",
    "InvalidModelError",
    "InvalidParameterError",
    "ProviderError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RequestTooLargeError",
    "RateLimitError",
    "ServerError",
    "ProviderTimeoutError",
    "ProviderConnectionError",
    "InvalidResponseError",
]

_LOCATIONS = {
    "rerank": "._default",
    "arerank": "._default",
    "Client": "._client",
    "AsyncClient": "._async_client",
    "RerankRequest": ".types",
    "RerankResponse": ".types",
    "RerankAnswer": ".types",
    "RerankResult": ".types",
    "RerankMeta": ".types",
    "Document": ".types",
    "Provider": ".provider",
    "HttpProvider": ".provider",
    "LocalProvider": ".provider",
    "ProviderRequest": ".provider",
    "Ranking": ".provider",
    "Param": ".provider",
    "HttpRequest": ".wire",
    "HttpResponse": ".wire",
    "ProviderRegistry": ".registry",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        if name in __all__:
            module = ".errors"
        else:
            raise AttributeError(f"module 'rerankit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from ._async_client import AsyncClient
    from ._client import Client
    from ._default import arerank, rerank
    from .errors import (
        APIStatusError,
        AuthenticationError,
        BadRequestError,
        ConfigurationError,
        DuplicateProviderError,
        InvalidModelError,
        InvalidParameterError,
        InvalidRequestError,
        InvalidResponseError,
        MissingApiKeyError,
        NotFoundError,
        PermissionDeniedError,
        PluginLoadError,
        ProviderConnectionError,
        ProviderError,
        ProviderTimeoutError,
        RateLimitError,
        RequestTooLargeError,
        RerankitError,
        RerankitWarning,
        ServerError,
        UnknownProviderError,
    )
    from .provider import HttpProvider, LocalProvider, Param, Provider, ProviderRequest, Ranking
    from .registry import ProviderRegistry
    from .types import (
        Document,
        RerankAnswer,
        RerankMeta,
        RerankRequest,
        RerankResponse,
        RerankResult,
    )
    from .wire import HttpRequest, HttpResponse
