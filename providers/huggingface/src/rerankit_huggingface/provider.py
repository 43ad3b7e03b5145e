"""The Hugging Face provider: Inference Endpoints and other hosted TEI rerankers.

A Hugging Face Inference Endpoint that serves a reranker runs text-embeddings-inference
(TEI), so the wire is TEI's: `POST {endpoint}/rerank` with `{"query", "texts",
"return_text": false, "truncate"?, "truncation_direction"?, "raw_scores"?}`, answered by
a bare list `[{"index", "score"}]`. This module does not restate it: `WIRE` is
`rerankit_tei.provider.WIRE` (TEI's public wire) with Hugging Face's name, variables and
key rule, and `HuggingFaceProvider` subclasses `TeiProvider`.

- Address: `api_base` (the endpoint URL shown on its page), else `HF_API_BASE`, else
  `HUGGINGFACE_API_BASE`; there is no default (each endpoint has its own URL).
- Key: `api_key`, else `HF_TOKEN` (what `huggingface_hub` reads), else
  `HUGGINGFACE_API_KEY`; sent as `Authorization: Bearer`. Required on Hugging Face's own
  hosts (`*.endpoints.huggingface.cloud`, `*.huggingface.co`); optional elsewhere, so a
  TEI-compatible server behind another host needs none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar
from urllib.parse import urlsplit

from rerankit import ProviderRequest
from rerankit.declarative import RerankWire
from rerankit.errors import ConfigurationError, MissingApiKeyError
from rerankit_tei.provider import WIRE as TEI_WIRE
from rerankit_tei.provider import TeiProvider

__all__ = ["HuggingFaceProvider", "WIRE", "HOSTED_DOMAINS"]

#: Hosts (and their subdomains) that are Hugging Face's own and always need a token.
HOSTED_DOMAINS = ("endpoints.huggingface.cloud", "huggingface.co")

#: TEI's wire with Hugging Face's name and environment variables.
WIRE: RerankWire = replace(
    TEI_WIRE,
    name="Hugging Face",
    api_key_env="HF_TOKEN",
    api_key_env_aliases=("HUGGINGFACE_API_KEY",),
    api_base_env=("HF_API_BASE", "HUGGINGFACE_API_BASE"),
)


class HuggingFaceProvider(TeiProvider):
    """A reranker on a Hugging Face Inference Endpoint (`huggingface/<label>`)."""

    wire: ClassVar[RerankWire] = WIRE

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """The endpoint URL joined with `/rerank`; there is no default address."""
        if request.api_base is None:
            raise ConfigurationError(
                "Hugging Face needs the endpoint's URL: pass "
                "api_base='https://<name>.<region>.<cloud>.endpoints.huggingface.cloud' "
                "or set HF_API_BASE."
            )
        return super().endpoint(request, wire)

    def headers(self, request: ProviderRequest, wire: RerankWire, url: str) -> dict[str, str]:
        """The token as a Bearer header; a Hugging Face host without one is refused."""
        if not request.api_key and _is_hosted(url):
            raise MissingApiKeyError(
                wire.name,
                wire.api_key_env,
                " Hugging Face endpoints need a token with access to the endpoint; "
                "a TEI-compatible server at another api_base may not.",
            )
        return super().headers(request, wire, url)


def _is_hosted(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == domain or host.endswith(f".{domain}") for domain in HOSTED_DOMAINS)
