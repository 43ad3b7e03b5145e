"""LangChain integration for rerankit: `RerankitRerank`, a document compressor.

```py
from langchain_rerankit import RerankitRerank

compressor = RerankitRerank(model="nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2", top_n=3)
best = compressor.compress_documents(documents, "what is the memory bandwidth of H100")
```
"""

from __future__ import annotations

from .compressor import RerankitRerank

__all__ = ["RerankitRerank"]
