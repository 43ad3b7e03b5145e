"""`onnx/<model>`: cross-encoder rerankers run in-process on ONNX Runtime.

A `LocalProvider`: no HTTP. `rerank` scores on the calling thread; `arerank` (the async
client, the proxy) hands the same work to a small worker-thread pool so the event loop
never waits on inference. Models load lazily, once per process (`cache.ModelCache`).
Heavy imports (onnxruntime, tokenizers, numpy, huggingface_hub) happen on the first call,
never when the plugin is registered.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, ClassVar

from rerankit import LocalProvider, Param, ProviderRequest, Ranking
from rerankit.errors import InvalidParameterError
from rerankit.provider import ScoreKind

from .cache import ModelCache, shared_cache

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from .model import CrossEncoder

__all__ = ["OnnxProvider", "DEFAULT_BATCH_SIZE", "MAX_BATCH_SIZE"]

#: Pairs per inference run unless `batch_size=` says otherwise.
DEFAULT_BATCH_SIZE = 32
#: The largest `batch_size=` accepted (a batch's activations are held at once).
MAX_BATCH_SIZE = 1024
#: The largest `max_length=` and `intra_op_num_threads=` accepted.
MAX_LENGTH_LIMIT = 32_768
MAX_THREADS = 256


class OnnxProvider(LocalProvider):
    """Cross-encoder reranking on your CPU with ONNX Runtime: no key, no torch.

    `cache` holds the loaded models (the process-wide one by default); `workers` is how
    many inferences the async path runs at once (default: the CPU count, at most 4).
    """

    name: ClassVar[str] = "ONNX Runtime"
    score_kind: ClassVar[ScoreKind] = "logit"
    params: ClassVar[dict[str, Param]] = {
        "batch_size": Param(
            int,
            f"Pairs per inference run (default {DEFAULT_BATCH_SIZE}).",
            minimum=1,
            maximum=MAX_BATCH_SIZE,
        ),
        "max_length": Param(
            int,
            "Truncate each (query, document) pair to this many tokens "
            "(default and upper bound: the model's maximum length).",
            minimum=1,
            maximum=MAX_LENGTH_LIMIT,
        ),
        "onnx_file": Param(
            str,
            "The graph inside the model directory, e.g. 'onnx/model_quantized.onnx' "
            "(default: model.onnx, then onnx/model.onnx).",
        ),
        "intra_op_num_threads": Param(
            int,
            "ONNX Runtime threads per inference (0: its default, one per physical core). "
            "Fixed when the model loads: later calls may only repeat it.",
            minimum=0,
            maximum=MAX_THREADS,
        ),
    }

    def __init__(self, *, cache: ModelCache | None = None, workers: int | None = None) -> None:
        self.cache = cache if cache is not None else shared_cache()
        self.workers = workers or min(4, os.cpu_count() or 1)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def model(self, request: ProviderRequest) -> CrossEncoder:
        """The loaded cross-encoder for this call's model and graph (loading it if needed)."""
        # Imported here: registering the plugin (every `rerankit` lookup) stays cheap.
        from .files import check_onnx_file, locate, parse_source
        from .model import CrossEncoder

        onnx_file = request.params.get("onnx_file")
        if onnx_file is not None:
            check_onnx_file(onnx_file)
        threads: int | None = request.params.get("intra_op_num_threads")
        source = parse_source(request.model)
        key = (source.directory or source.name, onnx_file)

        def load() -> CrossEncoder:
            return CrossEncoder(locate(source, onnx_file), request.model, threads or 0)

        model = self.cache.get(key, load)
        # One session per model: its threads are fixed when it loads. A call asking for
        # others is refused (rather than ignored, or loading a second copy of the model).
        if threads is not None and threads != model.intra_op_num_threads:
            raise InvalidParameterError(
                f"onnx/{request.model} is already loaded in this process with "
                f"intra_op_num_threads={model.intra_op_num_threads}; it is set once per model. "
                f"Pass {model.intra_op_num_threads} or leave the parameter out.",
                parameter="intra_op_num_threads",
            )
        return model

    def rerank(self, request: ProviderRequest) -> Ranking:
        """Score every document against the query with the cross-encoder (a logit each)."""
        model = self.model(request)
        scores, tokens = model.score(
            request.query,
            request.documents,
            batch_size=int(request.params.get("batch_size", DEFAULT_BATCH_SIZE)),
            max_length=request.params.get("max_length"),
        )
        return Ranking(list(enumerate(scores)), usage={"tokens": tokens})

    async def arerank(self, request: ProviderRequest) -> Ranking:
        """`rerank` on a worker thread: the event loop keeps serving while it runs."""
        import asyncio

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), self.rerank, request)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._executor = ThreadPoolExecutor(
                        max_workers=self.workers, thread_name_prefix="rerankit-onnx"
                    )
        return self._executor
