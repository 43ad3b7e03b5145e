"""The process's loaded models: one `CrossEncoder` per (model, graph file).

Loaded lazily on the first call that needs it and reused by every later call, from any
thread, of any client in the process. Two threads asking for a model that is not loaded
yet load it once: loads happen under one lock (a model already loaded is found without
waiting for another's load). At most `max_models` stay loaded; past that the least
recently used is dropped (calls still holding it finish with it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import CrossEncoder

__all__ = ["MAX_MODELS", "ModelCache", "shared_cache"]

#: Models kept loaded per process by default.
MAX_MODELS = 8


class ModelCache:
    """Loaded cross-encoders by key, least recently used dropped past `max_models`."""

    def __init__(self, max_models: int = MAX_MODELS) -> None:
        if max_models < 1:
            raise ValueError(f"max_models must be >= 1, got {max_models}")
        self.max_models = max_models
        self._models: OrderedDict[Hashable, CrossEncoder] = OrderedDict()
        self._hits_lock = threading.Lock()
        self._load_lock = threading.Lock()
        #: How many models were loaded (a cache miss each): for tests and diagnostics.
        self.loads = 0

    def get(self, key: Hashable, load: Callable[[], CrossEncoder]) -> CrossEncoder:
        """The model under `key`, loading it with `load()` the first time."""
        found = self._lookup(key)
        if found is not None:
            return found
        with self._load_lock:
            found = self._lookup(key)  # another thread may have loaded it meanwhile
            if found is not None:
                return found
            model = load()
            self.loads += 1
            with self._hits_lock:
                self._models[key] = model
                while len(self._models) > self.max_models:
                    self._models.popitem(last=False)
            return model

    def _lookup(self, key: Hashable) -> CrossEncoder | None:
        with self._hits_lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
            return found

    def keys(self) -> list[Hashable]:
        """The keys of the loaded models, least recently used first."""
        with self._hits_lock:
            return list(self._models)

    def clear(self) -> None:
        """Drop every loaded model (they are loaded again on their next call)."""
        with self._hits_lock:
            self._models.clear()


_shared = ModelCache()


def shared_cache() -> ModelCache:
    """The process-wide cache every `OnnxProvider` uses unless given its own."""
    return _shared
