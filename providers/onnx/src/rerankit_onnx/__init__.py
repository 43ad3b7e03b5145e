"""Local cross-encoder rerank provider for rerankit, registered under the prefix `onnx`.

`onnx/<hugging face repo id>` or `onnx//path/to/model`: ONNX Runtime and tokenizers on
your CPU. Importing this module imports neither of them (they load on the first call).
"""

from __future__ import annotations

from rerankit import hookimpl

from .cache import ModelCache
from .provider import OnnxProvider

__all__ = ["ModelCache", "OnnxProvider", "register_providers"]


@hookimpl
def register_providers(register):  # type: ignore[no-untyped-def]
    """Register the ONNX Runtime provider under `onnx`."""
    register("onnx", OnnxProvider())
