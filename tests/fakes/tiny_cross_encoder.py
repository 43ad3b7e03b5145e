"""A tiny cross-encoder in the layout Optimum and transformers.js publish, built offline.

No model can be downloaded here, so the `onnx` provider's tests and benchmark make their
own: a `tokenizers` WordPiece tokenizer saved as `tokenizer.json` (BERT-style pair template,
`token_type_ids` 0 for the query and 1 for the document), `tokenizer_config.json`,
`special_tokens_map.json`, `config.json`, and an ONNX graph built with the `onnx` helper
API that behaves like a BERT sequence classifier where it matters to a runtime:

    input_ids, attention_mask[, token_type_ids]  [batch, seq] int64
    -> word + position (+ token type) embeddings -> dense + tanh per token
    -> mean over the tokens the attention mask keeps -> linear head
    -> logits [batch, 1] or [batch, 2]

Position embeddings have `max_positions` rows, so a sequence longer than that fails in
ONNX Runtime exactly as a real BERT past 512 tokens does: truncation is load-bearing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["WORDS", "build_tiny_cross_encoder", "write_files"]

#: The vocabulary's words (besides the special tokens); anything else is [UNK].
WORDS = (  # noqa: SIM905 (a list literal of 67 words reads worse)
    "gpu memory bandwidth hopper grace interconnect tensor core throughput latency cache "
    "server rack cooling power efficiency inference training model batch token sequence "
    "precision accelerator cluster network fabric storage nvlink pcie die transistor clock "
    "the a of and to in is that for with as on by at from this are be what how h100 sxm "
    "red green fruit apple cherry banana paris france capital city river bridge"
).split()
_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


def build_tiny_cross_encoder(
    directory: Path,
    *,
    head: int = 1,
    token_type_ids: bool = True,
    onnx_path: str = "model.onnx",
    max_positions: int = 32,
    hidden: int = 16,
    seed: int = 0,
    quantized: str | None = None,
    shape: tuple[int | str, int | str] = ("batch", "sequence"),
    int32: bool = False,
) -> Path:
    """Write a tiny cross-encoder into `directory`; return the ONNX file's path.

    `head` is 1 (one logit) or 2 (two classes; 3 makes a model no reranker has);
    `onnx_path` is where the graph goes (`model.onnx`, `onnx/model.onnx`, ...);
    `quantized` also writes an int8 dynamically quantised copy at that relative path.
    `shape` fixes the inputs' batch and/or sequence sizes (as some static exports do);
    `int32` makes the inputs int32 (as some exporters do). The weights depend only on
    `head`, `max_positions`, `hidden` and `seed`, so such variants score alike.
    """
    directory.mkdir(parents=True, exist_ok=True)
    write_files(directory, max_positions=max_positions)
    path = directory / onnx_path
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_graph(path, head, token_type_ids, max_positions, hidden, seed, shape, int32)
    if quantized is not None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        target = directory / quantized
        target.parent.mkdir(parents=True, exist_ok=True)
        quantize_dynamic(path, target, weight_type=QuantType.QInt8)
    return path


def write_files(directory: Path, *, max_positions: int = 32) -> None:
    """tokenizer.json, tokenizer_config.json, special_tokens_map.json and config.json."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {token: i for i, token in enumerate((*_SPECIAL, *WORDS))}
    tokenizer = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    _dump(
        directory / "tokenizer_config.json",
        {
            "model_max_length": max_positions,
            "pad_token": "[PAD]",
            "do_lower_case": True,
            "tokenizer_class": "BertTokenizer",
        },
    )
    _dump(
        directory / "special_tokens_map.json",
        {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"},
    )
    _dump(
        directory / "config.json",
        {
            "model_type": "bert",
            "architectures": ["BertForSequenceClassification"],
            "max_position_embeddings": max_positions,
            "pad_token_id": 0,
            "vocab_size": len(vocab),
        },
    )


def _write_graph(
    path: Path,
    head: int,
    token_type_ids: bool,
    max_positions: int,
    hidden: int,
    seed: int,
    shape: tuple[int | str, int | str],
    int32: bool,
) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    vocab_size = len(_SPECIAL) + len(WORDS)

    def weight(name: str, *dims: int, scale: float = 1.0) -> Any:
        values = (rng.standard_normal(dims) * scale).astype(np.float32)
        return numpy_helper.from_array(values, name)

    initializers = [
        weight("word_embeddings", vocab_size, hidden),
        weight("position_embeddings", max_positions, hidden, scale=0.3),
        weight("type_embeddings", 2, hidden, scale=0.5),
        weight("dense_w", hidden, hidden, scale=hidden**-0.5),
        weight("dense_b", hidden, scale=0.1),
        weight("head_w", hidden, head, scale=2.0),
        weight("head_b", head, scale=0.1),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array(1, np.int64), "one"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
    ]
    nodes = [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["words"]),
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one"], ["seq_len"], axis=0),
        helper.make_node("Range", ["zero", "seq_len", "one"], ["positions"]),
        # Out of range past max_positions, as in BERT: the runtime refuses the input.
        helper.make_node("Gather", ["position_embeddings", "positions"], ["pos"]),
        helper.make_node("Add", ["words", "pos"], ["embedded0"]),
    ]
    kind = TensorProto.INT32 if int32 else TensorProto.INT64
    inputs = [
        helper.make_tensor_value_info("input_ids", kind, list(shape)),
        helper.make_tensor_value_info("attention_mask", kind, list(shape)),
    ]
    if token_type_ids:
        inputs.append(helper.make_tensor_value_info("token_type_ids", kind, list(shape)))
        nodes += [
            helper.make_node("Gather", ["type_embeddings", "token_type_ids"], ["types"]),
            helper.make_node("Add", ["embedded0", "types"], ["embedded"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["embedded0"], ["embedded"]))
    nodes += [
        helper.make_node("MatMul", ["embedded", "dense_w"], ["dense0"]),
        helper.make_node("Add", ["dense0", "dense_b"], ["dense1"]),
        helper.make_node("Tanh", ["dense1"], ["hidden"]),
        helper.make_node("Cast", ["attention_mask"], ["mask0"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask0", "axis2"], ["mask"]),
        helper.make_node("Mul", ["hidden", "mask"], ["kept"]),
        helper.make_node("ReduceSum", ["kept", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "head_w"], ["head0"]),
        helper.make_node("Add", ["head0", "head_b"], ["logits"]),
    ]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", head])
    graph = helper.make_graph(nodes, "tiny_cross_encoder", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
