"""`ResponseCache`: the life-cycle plugin that answers repeated calls from a backend."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import rerankit
from rerankit import Ranking
from rerankit.errors import ConfigurationError
from rerankit.lifecycle import CallContext

from .backends import CacheBackend
from .codec import CorruptEntry, decode_ranking, encode_ranking
from .key import cache_key

__all__ = ["ResponseCache", "DEFAULT_RETRY_AFTER", "DEFAULT_MAX_ENTRY_BYTES"]

_T = TypeVar("_T")

logger = logging.getLogger("rerankit_cache")

#: Seconds the cache leaves a failed backend alone before trying it again.
DEFAULT_RETRY_AFTER = 1.0
#: Largest encoded ranking stored (about 40,000 documents); larger answers are not cached.
DEFAULT_MAX_ENTRY_BYTES = 1 << 20


class ResponseCache:
    """An exact-match cache of full rankings, as a life-cycle plugin.

    ```py
    client = rerankit.Client(plugins=[ResponseCache("memory://?ttl=60")])
    ```

    `backend` is a URL (`memory://`, `sqlite:///path/to.db`, `redis://host:port/0`, see
    `cache_from_url` for the options) or a `CacheBackend` object. `ttl` (seconds; None:
    no expiry) applies to each stored entry. A call whose answer is found is answered
    before any I/O, with `meta.cached` True; a successful call of the primary model that
    returned every document's score is stored. A backend that fails is logged once per
    kind of error, counted in `errors`, and left alone for `retry_after` seconds: the
    cache never fails a call.

    Counters (read them for metrics): `hits`, `misses`, `stores`, `errors`, `corrupt`
    (entries that read back invalid, also counted as misses) and `skipped` (answers not
    stored: larger than `max_entry_bytes` or not JSON-encodable).
    """

    def __init__(
        self,
        backend: str | CacheBackend = "memory://",
        *,
        ttl: float | None = None,
        namespace: str = "",
        retry_after: float = DEFAULT_RETRY_AFTER,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Checked before a URL opens anything, so a bad argument leaks no connection.
        if ttl is not None and not ttl > 0:
            raise ConfigurationError(f"rerankit-cache: ttl must be > 0 seconds, got {ttl!r}.")
        if not retry_after >= 0:
            raise ConfigurationError(
                f"rerankit-cache: retry_after must be >= 0 seconds, got {retry_after!r}."
            )
        if max_entry_bytes < 1:
            raise ConfigurationError(
                f"rerankit-cache: max_entry_bytes must be >= 1, got {max_entry_bytes!r}."
            )
        if isinstance(backend, str):
            from .config import parse_cache_url

            parsed = parse_cache_url(backend)
            backend = parsed.backend
            try:
                ttl = _one("ttl", parsed.ttl, ttl, None)
                namespace = _one("namespace", parsed.namespace, namespace, "")
                retry_after = _one(
                    "retry_after", parsed.retry_after, retry_after, DEFAULT_RETRY_AFTER
                )
                max_entry_bytes = _one(
                    "max_entry_bytes",
                    parsed.max_entry_bytes,
                    max_entry_bytes,
                    DEFAULT_MAX_ENTRY_BYTES,
                )
            except ConfigurationError:
                backend.close()
                raise
        if not isinstance(backend, CacheBackend):
            raise ConfigurationError(
                f"rerankit-cache: backend must be a URL or a CacheBackend (get, set, close), "
                f"got {type(backend).__name__}."
            )
        self.backend = backend
        self.ttl = ttl
        self.namespace = namespace
        self.retry_after = retry_after
        self.max_entry_bytes = max_entry_bytes
        self._clock = clock
        self._state = f"rerankit_cache:{id(self)}"  # two caches on one call keep apart
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._reported: set[str] = set()
        self.hits = self.misses = self.stores = self.errors = self.corrupt = self.skipped = 0

    def __repr__(self) -> str:
        return f"ResponseCache({self.backend.description}, ttl={self.ttl!r})"

    def stats(self) -> dict[str, int]:
        """The counters, as one mapping (for a `/metrics` endpoint)."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "stores": self.stores,
            "errors": self.errors,
            "corrupt": self.corrupt,
            "skipped": self.skipped,
        }

    def close(self) -> None:
        """Close the backend (its connections or file)."""
        self.backend.close()

    @rerankit.hookimpl
    def rerank_cached_ranking(self, call: CallContext) -> Ranking | None:
        """The stored full ranking for `call`, or None (a miss, or the backend failed)."""
        try:
            key = cache_key(call, self.namespace)
        except (TypeError, ValueError):
            self._count("skipped")  # a parameter JSON cannot encode exactly: not cached
            return None
        call.state[self._state] = key
        if self._clock() < self._down_until:
            self._count("misses")
            return None
        try:
            data = self.backend.get(key)
        except Exception as exc:
            self._failed("read", exc)
            self._count("misses")
            return None
        if data is None:
            self._count("misses")
            return None
        try:
            if len(data) > self.max_entry_bytes:  # not ours: we never store one that large
                raise CorruptEntry(f"{len(data)} bytes, more than max_entry_bytes")
            ranking = decode_ranking(data, size=len(call.documents), score_kind=call.score_kind)
        except CorruptEntry as exc:
            self._report("corrupt", "a stored entry is invalid and was ignored", str(exc))
            self._count("corrupt", "misses")
            return None
        self._count("hits")
        return ranking

    @rerankit.hookimpl
    def rerank_call_finished(self, call: CallContext) -> None:
        """Store the full ranking of a successful call of the primary model."""
        key = call.state.pop(self._state, None)
        ranking, response = call.ranking, call.response
        if key is None or call.cached or ranking is None or response is None:
            return  # not looked up here, answered by a cache, or failed
        if ranking.partial:
            return  # only the upstream's best results: cannot serve another top_n
        meta = response.meta
        if (meta is not None and meta.fallbacks_tried) or response.model != (
            f"{call.prefix}/{call.provider_model}"
        ):
            return  # a fallback model answered: not this key's answer
        try:
            data = encode_ranking(ranking, call.score_kind)
        except (TypeError, ValueError):
            self._count("skipped")
            return
        if len(data) > self.max_entry_bytes:
            self._count("skipped")
            return
        if self._clock() < self._down_until:
            return
        try:
            self.backend.set(key, data, self.ttl)
        except Exception as exc:
            self._failed("write", exc)
            return
        self._count("stores")

    def _count(self, *names: str) -> None:
        with self._lock:
            for name in names:
                setattr(self, name, getattr(self, name) + 1)

    def _failed(self, operation: str, exc: Exception) -> None:
        """Count a backend failure, leave the backend alone a while, log once per kind."""
        with self._lock:
            self.errors += 1
            self._down_until = self._clock() + self.retry_after
        self._report(
            f"{operation}:{type(exc).__name__}",
            f"could not {operation} the {self.backend.description} backend; calls go "
            f"upstream (it is tried again after {self.retry_after:g} s)",
            f"{type(exc).__name__}: {exc}",
        )

    def _report(self, kind: str, what: str, detail: str) -> None:
        with self._lock:
            first = kind not in self._reported
            self._reported.add(kind)
        for secret in _secrets(self.backend):
            detail = detail.replace(secret, "***")
        if first:
            logger.warning(
                "rerankit-cache: %s (%s). Reported once for this kind of error; see the "
                "cache's counters for how often.",
                what,
                detail,
            )
        else:
            logger.debug("rerankit-cache: %s (%s).", what, detail)


def _one(name: str, from_url: _T | None, given: _T, default: _T) -> _T:
    """An option set in the URL or as a keyword argument, refused when set both ways."""
    if from_url is None:
        return given
    if given != default:
        raise ConfigurationError(
            f"rerankit-cache: {name} is given both in the URL and as {name}=; keep one."
        )
    return from_url


def _secrets(backend: Any) -> tuple[str, ...]:
    secrets = getattr(backend, "secrets", None)
    return tuple(secrets()) if callable(secrets) else ()
