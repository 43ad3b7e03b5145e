"""The public facade: `__all__` is pinned, names resolve, import stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rerankit

EXPECTED = {
    "__version__",
    "rerank",
    "arerank",
    "Client",
    "AsyncClient",
    "RerankRequest",
    "RerankResponse",
    "RerankAnswer",
    "RerankResult",
    "RerankMeta",
    "Document",
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
}


def test_all_is_pinned():
    assert set(rerankit.__all__) == EXPECTED
    assert len(rerankit.__all__) == len(EXPECTED)


def test_every_public_name_resolves_and_is_documented():
    for name in rerankit.__all__:
        value = getattr(rerankit, name)
        if callable(value) and name != "hookimpl":
            assert value.__doc__, f"{name} has no docstring"


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        rerankit.no_such_thing  # noqa: B018


def run(code: str, **env: str) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return result.stdout.strip()


def test_import_loads_no_http_client_no_pydantic_and_no_plugins():
    out = run(
        "import sys, rerankit; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'rerankit_nvidia_nim', "
        "'rerankit.default_plugins.local') if m in sys.modules))"
    )
    assert out == "[]"


def test_resolving_a_provider_stays_light():
    out = run(
        "import sys; from rerankit.registry import default_registry; "
        "p = default_registry().resolve('nvidia_nim/nvidia/x')[1]; "
        "print(type(p).__name__, sorted(m for m in ('httpx', 'pydantic') if m in sys.modules))"
    )
    assert out == "NvidiaNimProvider []"


def test_call_arguments_are_exactly_the_clients_own_keywords():
    import inspect

    from rerankit import AsyncClient, Client, rerank
    from rerankit.provider import CALL_ARGUMENTS

    for function in (Client.rerank, AsyncClient.rerank):
        keywords = set(inspect.signature(function).parameters) - {"self", "params"}
        assert keywords == CALL_ARGUMENTS, function
    assert callable(rerank)
