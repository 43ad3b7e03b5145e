"""The first-party provider plugins install like third-party ones and resolve cheaply."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: prefix -> (distribution, provider class, key env var)
PLUGINS = {
    "cohere": ("rerankit-cohere", "CohereProvider", "COHERE_API_KEY"),
    "jina_ai": ("rerankit-jina", "JinaProvider", "JINA_API_KEY"),
    "voyage": ("rerankit-voyage", "VoyageProvider", "VOYAGE_API_KEY"),
    "mixedbread": ("rerankit-mixedbread", "MixedbreadProvider", "MXBAI_API_KEY"),
    "together_ai": ("rerankit-together", "TogetherProvider", "TOGETHER_API_KEY"),
    "pinecone": ("rerankit-pinecone", "PineconeProvider", "PINECONE_API_KEY"),
    "tei": ("rerankit-tei", "TeiProvider", "TEI_API_KEY"),
    "infinity": ("rerankit-infinity", "InfinityProvider", "INFINITY_API_KEY"),
    "hosted_vllm": ("rerankit-vllm", "VllmProvider", "HOSTED_VLLM_API_KEY"),
    "huggingface": ("rerankit-huggingface", "HuggingFaceProvider", "HF_TOKEN"),
    "azure_ai": ("rerankit-azure-ai", "AzureAIProvider", "AZURE_AI_API_KEY"),
}

#: prefix -> the other provider plugins it imports by design (it shares their wire).
SHARES_WIRE_WITH = {"huggingface": ["rerankit_tei"], "azure_ai": ["rerankit_cohere"]}


def python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RERANKIT_")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**environ, **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_each_plugin_registers_its_prefix_from_its_distribution():
    out = python(
        "import json; from rerankit.registry import default_registry as d; "
        "print(json.dumps({e.prefix: [e.distribution, type(e.provider).__name__, "
        "e.provider.api_key_env] for e in d().entries()}))",
        RERANKIT_LOAD_PLUGINS=",".join(PLUGINS),
    )
    found = {prefix: tuple(row) for prefix, row in json.loads(out).items()}
    assert found == PLUGINS


@pytest.mark.parametrize("prefix", sorted(PLUGINS))
def test_resolving_loads_neither_httpx_nor_pydantic_nor_other_providers(prefix):
    out = python(
        "import sys; from rerankit.registry import default_registry as d; "
        f"d().resolve('{prefix}/some-model'); "
        "print(sorted(m for m in sys.modules if m in ('httpx', 'pydantic') "
        "or (m.startswith('rerankit_') and '.' not in m)))",
        RERANKIT_LOAD_PLUGINS=prefix,
    )
    dist = PLUGINS[prefix][0]
    assert out == str(sorted([dist.replace("-", "_"), *SHARES_WIRE_WITH.get(prefix, [])]))
