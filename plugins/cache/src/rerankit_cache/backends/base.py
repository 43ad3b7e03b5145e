"""The interface every cache backend implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["CacheBackend"]


@runtime_checkable
class CacheBackend(Protocol):
    """A key-value store for encoded rankings, safe to call from several threads at once.

    Keys are short ASCII strings (a namespace and a sha256 hex digest); values are opaque
    bytes. A backend may raise any exception when its store fails: the cache counts and
    logs it and lets the call go upstream, so a backend need not catch anything itself.
    It must not block for long: `ResponseCache` calls it on the caller's thread, which is
    the event loop's for `AsyncClient` and the proxy.
    """

    #: What the backend is, for messages and reprs (never a password).
    description: str

    def get(self, key: str) -> bytes | None:
        """The value stored under `key`, or None when absent or expired."""
        ...

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value` under `key` for `ttl` seconds (None: until evicted)."""
        ...

    def close(self) -> None:
        """Release connections and files; the backend is not used afterwards."""
        ...
