"""The vLLM provider (self-hosted): vLLM's rerank route, Jina/Cohere-compatible.

The path follows the base URL's form: `http://host:8000` -> `/rerank`,
`http://host:8000/v1` -> `/v1/rerank`, `http://host:8000/v2` -> `/v2/rerank` (vLLM
serves the same handler on all three), a base ending in `/rerank` is used as-is.
Request `{"model", "query", "documents", "top_n"?, "truncate_prompt_tokens"?}` (no
return-documents flag: vLLM logs unknown fields); answer `{"id", "model", "usage",
"results": [{"index", "document"?, "relevance_score"}]}`.
"""

from __future__ import annotations

from typing import ClassVar

from rerankit import Param
from rerankit.declarative import CohereStyleProvider, RerankWire

__all__ = ["VllmProvider", "WIRE"]

WIRE = RerankWire(
    name="vLLM",
    default_base=None,
    path="/rerank",
    api_key_env="HOSTED_VLLM_API_KEY",
    api_base_env=("HOSTED_VLLM_API_BASE",),
    return_documents_field=None,
    params={
        "truncate_prompt_tokens": Param(
            int,
            "Keep this many tokens of each query+document pair (-1: the model's maximum).",
            minimum=-1,
        ),
    },
    # The scale depends on the served model's head and activation.
    score_kind="unknown",
    max_documents_per_request=None,
)


class VllmProvider(CohereStyleProvider):
    """A vLLM server's reranker (`hosted_vllm/<model>`, `api_base` required)."""

    wire: ClassVar[RerankWire] = WIRE
