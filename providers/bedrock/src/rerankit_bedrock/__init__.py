"""AWS Bedrock rerank provider for rerankit, registered under the prefix `bedrock`."""

from __future__ import annotations

from rerankit import hookimpl

from .provider import BEARER_ENV, MAX_TEXT_CHARS, BedrockProvider
from .sigv4 import AwsCredentials

__all__ = [
    "AwsCredentials",
    "BEARER_ENV",
    "BedrockProvider",
    "MAX_TEXT_CHARS",
    "register_providers",
]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the Bedrock provider under `bedrock`."""
    register("bedrock", BedrockProvider())
