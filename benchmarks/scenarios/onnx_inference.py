"""Scenario 7: local cross-encoder inference, `onnx/<dir>` vs tokenizers + onnxruntime by hand.

One call reranks 64 documents of ~100 words with a tiny cross-encoder built on the spot
(`tests/fakes/tiny_cross_encoder.py`: 256 positions, hidden size 64), at batch sizes 1, 16
and 64. The floor is the least a program can do with the same files: a `tokenizers`
tokenizer (truncation and padding on) and an `onnxruntime.InferenceSession`, one
`encode_batch` + `run` per batch, logits read from the output. FlashRank runs the same
files too (copied under the names its cache expects, so it downloads nothing); it has no
batch size and runs all passages of a call at once, so it gets one call per batch.

Contenders take turns within each round (the order reversed every other round) so that
noise from the machine falls on all alike; the figures are the median documents per
second and the median of each round's rate over the floor's in that round.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import Result
from benchmarks.workload import QUERY, documents, ratio

FLOOR = "tokenizers + onnxruntime (floor)"
SUBJECT = "rerankit.rerank onnx/<dir>"
FLASHRANK = "FlashRank Ranker.rerank"
BATCH_SIZES = (1, 16, 64)
DOCUMENTS = 64
#: Thread settings compared: ONNX Runtime's and tokenizers' defaults, and one thread each.
SETTINGS: tuple[tuple[str, int | None], ...] = (("default", None), ("1", 1))
#: FlashRank loads `<cache>/<known model name>/<its file name>` and downloads nothing
#: when that directory exists.
FLASHRANK_MODEL = "ms-marco-TinyBERT-L-2-v2"
FLASHRANK_FILE = "flashrank-TinyBERT-L-2-v2.onnx"


def build_model(root: Path) -> Path:
    """The benchmark's tiny cross-encoder (and FlashRank's copy of it) under `root`."""
    from tests.fakes.tiny_cross_encoder import build_tiny_cross_encoder

    model = root / "model"
    build_tiny_cross_encoder(model, head=1, max_positions=256, hidden=64)
    flashrank = root / "flashrank" / FLASHRANK_MODEL
    shutil.copytree(model, flashrank)
    (flashrank / "model.onnx").rename(flashrank / FLASHRANK_FILE)
    return model


def floor_scorer(model: Path, threads: int | None) -> Callable[[list[str], int], list[float]]:
    """tokenizers + onnxruntime by hand: one encode_batch and one run per batch."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
    limit = json.loads((model / "tokenizer_config.json").read_text())["model_max_length"]
    tokenizer.enable_truncation(limit)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        str(model / "model.onnx"), options, providers=["CPUExecutionProvider"]
    )

    def score(docs: list[str], batch_size: int) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(docs), batch_size):
            encodings = tokenizer.encode_batch(
                [(QUERY, d) for d in docs[start : start + batch_size]]
            )
            feed = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            (logits,) = session.run(["logits"], feed)
            scores.extend(logits[:, 0].tolist())
        return scores

    return score


def subject_scorer(model: Path, threads: int | None) -> Callable[[list[str], int], list[float]]:
    """rerankit's public API, the way an application calls it."""
    import rerankit

    client = rerankit.Client()
    name = f"onnx/{model}"
    params = {} if threads is None else {"intra_op_num_threads": threads}

    def score(docs: list[str], batch_size: int) -> list[float]:
        response = client.rerank(
            name, QUERY, docs, batch_size=batch_size, return_documents=False, **params
        )
        ordered = sorted(response.results, key=lambda r: r.index)
        return [r.relevance_score for r in ordered]

    return score


def flashrank_scorer(root: Path) -> tuple[Callable[[list[str], int], Any] | None, str | None]:
    """FlashRank on the same files, or None and why not."""
    try:
        from flashrank import Ranker, RerankRequest
    except ImportError as exc:
        return None, f"FlashRank is not installed ({exc})"
    # Ranker calls logging.basicConfig(level=INFO): undo it, the process's logging is not its.
    root_logger = logging.getLogger()
    level, handlers = root_logger.level, list(root_logger.handlers)
    try:
        ranker = Ranker(model_name=FLASHRANK_MODEL, cache_dir=str(root / "flashrank"))
    except Exception as exc:  # whatever FlashRank raises on files it cannot read
        return None, f"FlashRank could not load the files ({type(exc).__name__}: {exc})"
    finally:
        root_logger.setLevel(level)
        for handler in set(root_logger.handlers) - set(handlers):
            root_logger.removeHandler(handler)

    def score(docs: list[str], batch_size: int) -> Any:
        out = []
        for start in range(0, len(docs), batch_size):
            passages = [
                {"id": i, "text": d} for i, d in enumerate(docs[start : start + batch_size])
            ]
            out.extend(ranker.rerank(RerankRequest(query=QUERY, passages=passages)))
        return out

    return score, None


def measure(
    contenders: dict[str, Callable[[list[str], int], Any]],
    docs: list[str],
    batch_size: int,
    rounds: int,
) -> dict[str, Any]:
    """Each contender's median docs/s and median paired ratio to the floor."""
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for call in contenders.values():
        call(docs, batch_size)  # warm-up: sessions loaded, caches filled
    order = list(contenders.items())
    for turn in range(rounds):
        # Every other round in reverse, so that no contender always runs first.
        for name, call in order if turn % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            call(docs, batch_size)
            rates[name].append(len(docs) / (time.perf_counter() - start))
    figures: dict[str, Any] = {}
    for name, measured in rates.items():
        # Paired: each round's rate over the floor's in that same round, then the median,
        # so that a busy moment of the shared machine hits both sides alike.
        paired = [ratio(m, f) or 0.0 for m, f in zip(measured, rates[FLOOR], strict=True)]
        figures[name] = {
            "docs_per_s": statistics.median(measured),
            "x_floor": statistics.median(paired),
        }
    return figures


def run(quick: bool) -> Result:
    """64 documents per call at batch sizes 1, 16 and 64, in both thread settings."""
    result = Result(
        scenario="onnx",
        title=f"7. Local cross-encoder ({DOCUMENTS} docs of ~100 words per call, tiny model)",
        columns=["threads", "batch size", "client", "docs/s (median)", "x floor"],
    )
    rounds = 1 if quick else 60
    count = 8 if quick else DOCUMENTS
    docs = documents(count, words=100, seed=7)
    parallelism = os.environ.get("TOKENIZERS_PARALLELISM")
    with tempfile.TemporaryDirectory(prefix="rerankit-onnx-bench-") as tmp:
        root = Path(tmp)
        model = build_model(root)
        flashrank, why_not = flashrank_scorer(root)
        if flashrank is None:
            result.notes.append(f"FlashRank not measured: {why_not}.")
        try:
            for setting, threads in SETTINGS:
                # A copy per setting: rerankit fixes a model's threads when it loads it.
                files = root / f"threads-{setting}"
                shutil.copytree(model, files)
                contenders: dict[str, Callable[[list[str], int], Any]] = {
                    FLOOR: floor_scorer(files, threads),
                    SUBJECT: subject_scorer(files, threads),
                }
                if threads is None and flashrank is not None:
                    # FlashRank cannot set ONNX Runtime's threads: defaults only.
                    contenders[FLASHRANK] = flashrank
                if threads is not None:  # tokenizers reads it on every batch call
                    os.environ["TOKENIZERS_PARALLELISM"] = "false"
                floor_scores = contenders[FLOOR](docs, count)
                ours = contenders[SUBJECT](docs, 16)
                drift = max(abs(a - b) for a, b in zip(ours, floor_scores, strict=True))
                result.data["max_score_difference"] = max(
                    drift, result.data.get("max_score_difference", 0.0)
                )
                per_setting: dict[str, Any] = {}
                for batch_size in BATCH_SIZES:
                    figures = measure(contenders, docs, batch_size, rounds)
                    per_setting[str(batch_size)] = figures
                    for name, f in figures.items():
                        result.rows.append(
                            [setting, batch_size, name, f["docs_per_s"], f["x_floor"]]
                        )
                per_setting["worst_x_floor"] = min(
                    per_setting[str(b)][SUBJECT]["x_floor"] for b in BATCH_SIZES
                )
                result.data[setting] = per_setting
        finally:
            if parallelism is None:
                os.environ.pop("TOKENIZERS_PARALLELISM", None)
            else:
                os.environ["TOKENIZERS_PARALLELISM"] = parallelism
    result.data["worst_x_floor"] = min(result.data[s]["worst_x_floor"] for s, _ in SETTINGS)
    result.notes += [
        f"rerankit's scores equal the floor's to {result.data['max_score_difference']:.1e} "
        "(largest difference, logits).",
        "x floor: docs/s over the floor's in the same round, median of the rounds (1.0 = as "
        "fast as the hand-written loop); the target is >= 0.91, at most 1.1x the floor's time.",
        "default: ONNX Runtime's and tokenizers' own thread pools; 1: intra_op_num_threads=1 "
        "and TOKENIZERS_PARALLELISM=false for both sides, the steadier figure on a busy "
        "machine. FlashRank runs with defaults only (it cannot set ONNX Runtime's threads).",
    ]
    return result
