"""Tiny cross-encoders built once per test session, and a direct onnxruntime reference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from rerankit import Client, ProviderRegistry
from rerankit_onnx import ModelCache, OnnxProvider
from tests.fakes.tiny_cross_encoder import build_tiny_cross_encoder

MAX_POSITIONS = 32


@dataclass(frozen=True)
class TinyModels:
    #: Optimum's layout: model.onnx at the top, one logit, token_type_ids; plus an int8
    #: copy at onnx/model_quantized.onnx.
    bert: Path
    #: transformers.js' layout: onnx/model.onnx only, two classes, no token_type_ids.
    xenova: Path


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    root = tmp_path_factory.mktemp("onnx-models")
    bert = root / "bert"
    build_tiny_cross_encoder(
        bert, head=1, onnx_path="model.onnx", quantized="onnx/model_quantized.onnx"
    )
    xenova = root / "xenova"
    build_tiny_cross_encoder(
        xenova, head=2, token_type_ids=False, onnx_path="onnx/model.onnx", seed=1
    )
    return TinyModels(bert, xenova)


@pytest.fixture
def cache() -> ModelCache:
    """A cache of this test's own, so that loads can be counted."""
    return ModelCache()


@pytest.fixture
def client(cache: ModelCache) -> Client:
    registry = ProviderRegistry()
    registry.register("onnx", OnnxProvider(cache=cache))
    return Client(registry=registry)


@pytest.fixture(scope="session")
def direct() -> object:
    """`direct(directory, query, documents, onnx_file=, max_length=)`: reference logits."""
    return direct_scores


def direct_scores(
    directory: Path,
    query: str,
    documents: list[str],
    *,
    onnx_file: str = "model.onnx",
    max_length: int = MAX_POSITIONS,
) -> list[float]:
    """The reference: tokenizers + onnxruntime called by hand, every pair in one batch."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    pad = json.loads((directory / "tokenizer_config.json").read_text())["pad_token"]
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad)
    encodings = tokenizer.encode_batch([(query, d) for d in documents])
    session = ort.InferenceSession(str(directory / onnx_file), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feed = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    (logits,) = session.run(["logits"], {k: v for k, v in feed.items() if k in names})
    return [float(x) for x in logits[:, -1]]
