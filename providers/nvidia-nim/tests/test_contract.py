"""The provider contract suite (rerankit.testing) run against the Nvidia NIM provider."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rerankit import HttpRequest
from rerankit.testing import ProviderContract
from rerankit_nvidia_nim import NvidiaNimProvider


class TestNvidiaNimContract(ProviderContract):
    provider = NvidiaNimProvider()
    prefix = "nvidia_nim"
    model = "nvidia/llama-3_2-nv-rerankqa-1b-v2"
    plugin = "rerankit_nvidia_nim"

    def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
        return {"rankings": [{"index": i, "logit": s} for i, s in scores]}

    def error_body(self, status: int, message: str) -> Any:
        # NVIDIA's hosted API answers errors in the RFC 9457 problem shape.
        return {"type": "about:blank", "status": status, "title": "Error", "detail": message}


class TestNvidiaNimSelfHostedContract(TestNvidiaNimContract):
    """The self-hosted route (`/v1/ranking`) speaks the same wire."""

    model = "ranking/nvidia/llama-3.2-nv-rerankqa-1b-v2"
    api_base = "http://nim.internal:8000"
