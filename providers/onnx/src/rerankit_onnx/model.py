"""One loaded cross-encoder: its ONNX Runtime session and its tokenizer, and scoring.

Scoring a call: every (query, document) pair is tokenised together by the model's own
tokenizer (its template, `token_type_ids`, truncation strategy and direction), truncated to
the model's maximum length (or `max_length=`), then the pairs are run in batches of
`batch_size`, shortest first so that a batch pads little. Each batch is padded to its
longest pair (or the graph's fixed length) and fed as `input_ids`, `attention_mask` and,
only where the graph takes it, `token_type_ids`. A one-logit head gives the score; a
two-class head gives the positive class's logit (index 1). Scores are logits.

`InferenceSession.run` is thread-safe, and the tokenizer is only read while scoring (a
differently truncating copy is made, once, per `max_length`), so one `CrossEncoder` serves
every thread of the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rerankit.errors import InvalidModelError, InvalidParameterError, InvalidResponseError

from .files import ModelFiles

__all__ = ["CrossEncoder", "DEFAULT_MAX_LENGTH", "MAX_TOKENIZER_VARIANTS"]

#: The maximum length when neither the tokenizer nor the config says one.
DEFAULT_MAX_LENGTH = 512
#: Truncation lengths kept as ready tokenizers per model (older ones are rebuilt on use).
MAX_TOKENIZER_VARIANTS = 8
#: `model_max_length` values above this are transformers' "no limit" sentinel (1e30).
_NO_LIMIT = 1_000_000
#: Models whose position ids start after the padding index: two positions are unusable.
_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "bart"}
_SUPPORTED_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROVIDER = "ONNX Runtime"


class CrossEncoder:
    """A cross-encoder loaded from `ModelFiles`; `score` is safe to call from any thread."""

    def __init__(self, files: ModelFiles, name: str, intra_op_num_threads: int = 0) -> None:
        import numpy as np
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        self.name = name
        self.files = files
        #: The session's intra-op threads (0: ONNX Runtime's default), fixed at load.
        self.intra_op_num_threads = intra_op_num_threads
        self._np = np
        options = ort.SessionOptions()
        if intra_op_num_threads:
            options.intra_op_num_threads = intra_op_num_threads
        try:
            self.session = ort.InferenceSession(
                str(files.onnx), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped failures
            raise InvalidModelError(
                f"ONNX Runtime cannot load {files.onnx}: {exc}".strip()[:600]
            ) from None
        self._read_graph()
        self._base = Tokenizer.from_file(str(files.tokenizer))
        config = _json(files.directory / "config.json")
        tokenizer_config = _json(files.directory / "tokenizer_config.json")
        truncation = self._base.truncation or {}
        self.strategy = str(truncation.get("strategy", "longest_first"))
        self.direction = str(truncation.get("direction", "right"))
        self.max_length = self._model_max_length(config, tokenizer_config, truncation)
        padding = self._base.padding or {}
        self.pad_id, self.pad_type_id, self.pad_token = self._padding(
            padding, config, tokenizer_config
        )
        self.pad_left = padding.get("direction") == "left"
        self._base.no_padding()
        self._base.no_truncation()
        self._specials = self._base.num_special_tokens_to_add(True)
        self._tokenizers: dict[int, Any] = {}
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------

    def _read_graph(self) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        unknown = sorted(set(inputs) - set(_SUPPORTED_INPUTS))
        if "input_ids" not in inputs or unknown:
            raise InvalidModelError(
                f"{self.files.onnx} is not a cross-encoder rerankit-onnx can feed: its inputs "
                f"are {', '.join(sorted(inputs))}; supported are {', '.join(_SUPPORTED_INPUTS)} "
                "(a sequence-classification export, e.g. optimum-cli --task text-classification)."
            )
        self.inputs = tuple(name for name in _SUPPORTED_INPUTS if name in inputs)
        int32 = inputs["input_ids"].type == "tensor(int32)"
        self.dtype = self._np.int32 if int32 else self._np.int64
        shape = inputs["input_ids"].shape
        self.fixed_batch = shape[0] if len(shape) == 2 and isinstance(shape[0], int) else None
        self.fixed_length = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        outputs = self.session.get_outputs()
        chosen = next((o for o in outputs if o.name == "logits"), outputs[0])
        self.output = chosen.name
        width = chosen.shape[-1] if len(chosen.shape) == 2 else 1
        if isinstance(width, int) and width not in (1, 2):
            raise InvalidModelError(
                f"{self.files.onnx} has a head of {width} classes; a reranker has one logit "
                "or two classes (the second being 'relevant')."
            )

    def _model_max_length(
        self, config: dict[str, Any], tokenizer_config: dict[str, Any], truncation: dict[str, Any]
    ) -> int:
        limits: list[int] = []
        declared = tokenizer_config.get("model_max_length")
        if isinstance(declared, int | float) and 0 < declared < _NO_LIMIT:
            limits.append(int(declared))
        if isinstance(truncation.get("max_length"), int):
            limits.append(truncation["max_length"])
        positions = config.get("max_position_embeddings")
        if isinstance(positions, int) and positions > 0:
            offset = 2 if config.get("model_type") in _OFFSET_POSITIONS else 0
            limits.append(positions - offset)
        if self.fixed_length is not None:
            limits.append(self.fixed_length)
        return min(limits) if limits else DEFAULT_MAX_LENGTH

    def _padding(
        self, padding: dict[str, Any], config: dict[str, Any], tokenizer_config: dict[str, Any]
    ) -> tuple[int, int, str]:
        if padding:
            return int(padding["pad_id"]), int(padding.get("pad_type_id", 0)), padding["pad_token"]
        token = tokenizer_config.get("pad_token")
        if isinstance(token, dict):
            token = token.get("content")
        candidates = [token] if isinstance(token, str) else []
        for name in [*candidates, "[PAD]", "<pad>"]:
            found = self._base.token_to_id(name)
            if found is not None:
                return found, 0, name
        pad_id = config.get("pad_token_id")
        return (pad_id if isinstance(pad_id, int) else 0), 0, candidates[0] if candidates else ""

    # -- scoring ----------------------------------------------------------------------

    def check_max_length(self, max_length: int | None) -> int:
        """The truncation length of a call: the model's, or a valid `max_length=`."""
        if max_length is None:
            return self.max_length
        if max_length > self.max_length or max_length <= self._specials:
            raise InvalidParameterError(
                f"max_length for {self.name} must be between {self._specials + 1} and "
                f"{self.max_length} (the model's limit); got {max_length}.",
                parameter="max_length",
            )
        return max_length

    def tokenizer(self, max_length: int) -> Any:
        """The tokenizer truncating at `max_length` (made once, then shared)."""
        found = self._tokenizers.get(max_length)
        if found is not None:
            return found
        with self._lock:
            found = self._tokenizers.get(max_length)
            if found is None:
                from tokenizers import Tokenizer

                found = Tokenizer.from_str(self._base.to_str())
                found.enable_truncation(
                    max_length, strategy=self.strategy, direction=self.direction
                )
                if len(self._tokenizers) >= MAX_TOKENIZER_VARIANTS:
                    del self._tokenizers[next(iter(self._tokenizers))]
                self._tokenizers[max_length] = found
        return found

    def score(
        self, query: str, documents: Sequence[str], *, batch_size: int, max_length: int | None
    ) -> tuple[list[float], int]:
        """One logit per document, in input order, and the number of tokens fed."""
        length = self.check_max_length(max_length)
        try:
            encodings = self.tokenizer(length).encode_batch([(query, d) for d in documents])
        except Exception as exc:  # tokenizers raises a bare Exception on truncation trouble
            raise InvalidParameterError(
                f"{self.name} cannot tokenise this call within {length} tokens "
                f"({exc}); shorten the query or raise max_length.",
                parameter="max_length",
            ) from None
        lengths = [len(e.ids) for e in encodings]
        # Shortest first: similar lengths share a batch, so little padding is computed.
        order = sorted(range(len(encodings)), key=lengths.__getitem__)
        if self.fixed_batch is not None:
            batch_size = self.fixed_batch
        scores = [0.0] * len(encodings)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            logits = self._run([encodings[i] for i in rows], lengths[rows[-1]], batch_size)
            for row, value in zip(rows, logits, strict=False):
                scores[row] = value
        return scores, sum(lengths)

    def _run(self, batch: list[Any], longest: int, batch_size: int) -> list[float]:
        np = self._np
        width = self.fixed_length or longest
        direction = "left" if self.pad_left else "right"
        for encoding in batch:
            encoding.pad(
                width,
                direction=direction,
                pad_id=self.pad_id,
                pad_type_id=self.pad_type_id,
                pad_token=self.pad_token,
            )
        if self.fixed_batch is not None and len(batch) < batch_size:
            batch = batch + [batch[0]] * (batch_size - len(batch))  # ignored rows
        feed = {"input_ids": np.array([e.ids for e in batch], dtype=self.dtype)}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = np.array([e.attention_mask for e in batch], dtype=self.dtype)
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in batch], dtype=self.dtype)
        try:
            (logits,) = self.session.run([self.output], feed)
        except Exception as exc:  # onnxruntime's failures are untyped
            raise InvalidResponseError(
                f"ONNX Runtime failed running {self.name}: {exc}"[:600],
                provider=_PROVIDER,
                model=f"onnx/{self.name}",
            ) from None
        return self._scores(logits)

    def _scores(self, logits: Any) -> list[float]:
        if logits.ndim == 2 and logits.shape[1] in (1, 2):
            return logits[:, -1].astype("float64").tolist()  # type: ignore[no-any-return]
        if logits.ndim == 1:
            return logits.astype("float64").tolist()  # type: ignore[no-any-return]
        raise InvalidResponseError(
            f"{self.name} produced logits of shape {tuple(logits.shape)}; a reranker gives "
            "[batch, 1] or [batch, 2].",
            provider=_PROVIDER,
            model=f"onnx/{self.name}",
        )


def _json(path: Path) -> dict[str, Any]:
    """A model's JSON side file, or {} when it has none."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidModelError(f"{path} is not readable JSON ({exc}).") from None
    return data if isinstance(data, dict) else {}
