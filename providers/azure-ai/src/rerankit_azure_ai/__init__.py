"""Azure AI Foundry rerank provider for rerankit (Cohere rerank deployments), `azure_ai`."""

from __future__ import annotations

from rerankit import hookimpl

from .entra import DEFAULT_SCOPE, EntraIdToken
from .provider import AzureAIProvider

__all__ = ["AzureAIProvider", "EntraIdToken", "DEFAULT_SCOPE", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Azure AI provider under `azure_ai` (Entra ID when AZURE_AI_AUTH says so)."""
    register("azure_ai", AzureAIProvider.from_environment())
