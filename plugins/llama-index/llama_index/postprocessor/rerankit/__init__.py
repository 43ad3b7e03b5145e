"""LlamaIndex integration for rerankit: `RerankitRerank`, a node postprocessor.

```py
from llama_index.postprocessor.rerankit import RerankitRerank

reranker = RerankitRerank(model="nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2", top_n=3)
query_engine = index.as_query_engine(node_postprocessors=[reranker])
```
"""

from __future__ import annotations

from llama_index.postprocessor.rerankit.base import SCORE_KIND_KEY, RerankitRerank

__all__ = ["RerankitRerank", "SCORE_KIND_KEY"]
