"""Where cached rankings live: one small interface, three implementations.

`CacheBackend` is all the cache needs of a store (bytes in, bytes out, an expiry); write
your own to put the cache anywhere else. The Redis backend imports redis-py only when
built, so the package imports without the `redis` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import CacheBackend
from .memory import MemoryBackend
from .sqlite import SQLiteBackend

if TYPE_CHECKING:
    from .redis import RedisBackend

__all__ = ["CacheBackend", "MemoryBackend", "SQLiteBackend", "RedisBackend"]


def __getattr__(name: str) -> Any:
    if name == "RedisBackend":
        from .redis import RedisBackend

        return RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
