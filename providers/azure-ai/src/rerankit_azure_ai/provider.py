"""The Azure AI provider: Cohere rerank models deployed on Azure AI Foundry.

A Cohere rerank deployment (serverless API / "Models as a Service") speaks Cohere's own
rerank wire on the deployment's URL: `POST {deployment}/v2/rerank` (the default) or
`/v1/rerank` (`azure_ai/v1/<model>`), authenticated with `Authorization: Bearer <key>`
as Microsoft's reference for these deployments shows. The wires are rerankit-cohere's
`V1`/`V2` with Azure's name and variables; `AzureAIProvider` subclasses `CohereProvider`,
so version selection and base handling are Cohere's too.

- Address: `api_base` (the deployment's Target URI), else `AZURE_AI_API_BASE`; required.
- Credentials, first that applies: `api_key`, else `AZURE_AI_API_KEY`, else an Entra ID
  token from the provider's `token_provider` (e.g. `EntraIdToken()`); on Azure's hosts a
  call with neither fails before sending. `AZURE_AI_AUTH=entra_id` makes the registered
  provider use `EntraIdToken` (scope `AZURE_AI_ENTRA_SCOPE`, default Azure AI services').
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlsplit

from rerankit import Param, ProviderRequest
from rerankit.declarative import RerankWire
from rerankit.errors import ConfigurationError, MissingApiKeyError
from rerankit_cohere.provider import V1 as COHERE_V1
from rerankit_cohere.provider import V2 as COHERE_V2
from rerankit_cohere.provider import CohereProvider

from .entra import DEFAULT_SCOPE, EntraIdToken

__all__ = ["AzureAIProvider", "V1", "V2", "AZURE_DOMAINS", "AUTH_HEADERS"]


def _on_azure(cohere_wire: RerankWire, params: Mapping[str, Param]) -> RerankWire:
    """Cohere's wire with Azure's name, variables and accepted parameters."""
    return replace(
        cohere_wire,
        name="Azure AI",
        default_base=None,  # every deployment has its own URL
        api_key_env="AZURE_AI_API_KEY",
        api_key_env_aliases=(),
        api_base_env=("AZURE_AI_API_BASE",),
        key_required=False,  # decided per host in AzureAIProvider.headers
        params=params,
    )


#: Cohere's v2 wire on an Azure deployment (the default). Microsoft's reference for these
#: deployments lists no `priority`, so only `max_tokens_per_doc` is accepted.
V2 = _on_azure(COHERE_V2, {"max_tokens_per_doc": COHERE_V2.params["max_tokens_per_doc"]})
#: Cohere's v1 wire on an Azure deployment (`azure_ai/v1/<model>`).
V1 = _on_azure(COHERE_V1, COHERE_V1.params)

#: Azure's hosts (and subdomains): a call there always needs a key or a token.
AZURE_DOMAINS = ("azure.com", "azure-api.net", "azure.us", "azure.cn")
#: Headers a key may travel in: Bearer (Microsoft's reference) or Azure's `api-key`.
AUTH_HEADERS = ("Authorization", "api-key")


class AzureAIProvider(CohereProvider):
    """Cohere rerank on Azure AI Foundry (`azure_ai/<model>`, `azure_ai/v1/<model>`); 0..1.

    `token_provider`: a callable returning an Entra ID bearer token (`EntraIdToken`),
    used when no key is given. `key_header`: `"Authorization"` (Bearer, the default) or
    `"api-key"` for resources configured for that header. Entra tokens always go as Bearer.
    """

    wire: ClassVar[RerankWire] = V2
    params: ClassVar[dict[str, Param]] = {**V2.params, **V1.params}

    def __init__(
        self,
        *,
        token_provider: Callable[[], str] | None = None,
        key_header: str = "Authorization",
    ) -> None:
        super().__init__()
        if key_header not in AUTH_HEADERS:
            raise ConfigurationError(
                f"key_header must be one of {', '.join(AUTH_HEADERS)}; got {key_header!r}."
            )
        if token_provider is not None and not callable(token_provider):
            raise ConfigurationError("token_provider must be a callable returning a token.")
        self.token_provider = token_provider
        self.key_header = key_header
        self._setup_error: str | None = None

    @classmethod
    def from_environment(cls) -> AzureAIProvider:
        """The registered provider: Entra ID when `AZURE_AI_AUTH=entra_id`, else keys only.

        An unknown `AZURE_AI_AUTH` value is not ignored: the provider then refuses every
        call with a message saying which values exist (other providers are unaffected).
        """
        mode = os.environ.get("AZURE_AI_AUTH", "").strip().lower()
        if mode in ("", "key", "api_key"):
            return cls()
        if mode == "entra_id":
            scope = os.environ.get("AZURE_AI_ENTRA_SCOPE", "").strip() or DEFAULT_SCOPE
            return cls(token_provider=EntraIdToken(scope=scope))
        # Imported here: rerankit's warning class lives beside pydantic-using code, and
        # registering must stay cheap.
        from rerankit import RerankitWarning

        provider = cls()
        provider._setup_error = (
            f"AZURE_AI_AUTH={mode!r} is not a known mode: use 'entra_id' (Microsoft Entra "
            "ID tokens via azure-identity) or 'key' (AZURE_AI_API_KEY, the default)."
        )
        warnings.warn(provider._setup_error, RerankitWarning, stacklevel=2)
        return provider

    def wire_for(self, request: ProviderRequest) -> RerankWire:
        """v1 for `v1/<model>`, else v2."""
        return V1 if request.model.startswith("v1/") else V2

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """The version path on the deployment URL (which is required)."""
        if self._setup_error is not None:
            raise ConfigurationError(self._setup_error)
        if request.api_base is None:
            raise ConfigurationError(
                "Azure AI needs the deployment's URL: pass api_base='https://<deployment>."
                "<region>.models.ai.azure.com' (its Target URI) or set AZURE_AI_API_BASE."
            )
        return super().endpoint(request, wire)

    def headers(self, request: ProviderRequest, wire: RerankWire, url: str) -> dict[str, str]:
        """The key (Bearer or `api-key`), else an Entra ID token, else none off Azure."""
        headers = {"Accept": "application/json", **wire.headers}
        if request.api_key:
            if self.key_header == "api-key":
                headers["api-key"] = request.api_key
            else:
                headers["Authorization"] = f"Bearer {request.api_key}"
        elif self.token_provider is not None:
            headers["Authorization"] = f"Bearer {self.token_provider()}"
        elif _is_azure(url):
            raise MissingApiKeyError(
                wire.name,
                wire.api_key_env,
                " Or use Microsoft Entra ID: set AZURE_AI_AUTH=entra_id (needs "
                "pip install 'rerankit-azure-ai[entra]') or register "
                "AzureAIProvider(token_provider=EntraIdToken(...)).",
            )
        return headers


def _is_azure(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in AZURE_DOMAINS)
