"""An in-process LRU: bounded by entries and/or bytes, thread-safe."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["MemoryBackend", "DEFAULT_MAX_ENTRIES"]

#: Entries kept when neither `max_entries` nor `max_bytes` is given.
DEFAULT_MAX_ENTRIES = 1024


class MemoryBackend:
    """Least-recently-used entries in this process's memory.

    `max_entries` bounds the number of entries and `max_bytes` the bytes of keys and
    values together; the least recently used go first when either is exceeded (with
    neither given, `max_entries` is `DEFAULT_MAX_ENTRIES`). A value larger than
    `max_bytes` on its own is not stored. `clock` (monotonic seconds) is injectable
    so tests can move time instead of sleeping.
    """

    def __init__(
        self,
        *,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries is None and max_bytes is None:
            max_entries = DEFAULT_MAX_ENTRIES
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        #: key -> (value, expiry on `clock`, or None)
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()
        self._bytes = 0
        limits = [f"max_entries={max_entries}"] if max_entries is not None else []
        limits += [f"max_bytes={max_bytes}"] if max_bytes is not None else []
        self.description = f"memory ({', '.join(limits)})"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes of the keys and values held now."""
        return self._bytes

    def get(self, key: str) -> bytes | None:
        """The value under `key`, now the most recently used; None if absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if expires is not None and self._clock() >= expires:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value`, evicting the least recently used entries beyond the limits."""
        size = len(key) + len(value)
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if self.max_bytes is not None and size > self.max_bytes:
                return  # could never fit: keep the entries that do
            self._entries[key] = (value, expires)
            self._bytes += size
            while (self.max_entries is not None and len(self._entries) > self.max_entries) or (
                self.max_bytes is not None and self._bytes > self.max_bytes
            ):
                oldest = next(iter(self._entries))
                self._drop(oldest)

    def close(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self._bytes -= len(key) + len(value)
