"""A key's `tpm`: the tokens its calls used, as the providers report them.

A key with `tpm` is refused (429, `Retry-After`) while the tokens counted in its current
60-second window are already `tpm` or more; each answer's reported tokens are added after
it was sent. Like the gateway, a request is let in on what was used before it, so the
last request of a window may take the count past `tpm`.

Windows are fixed, starting with the first counted tokens: in Redis when one is
configured (`SharedState.tokens_used` / `add_tokens`), else per process with `tpm /
workers` each (`LocalTokenWindows`), which is also the fallback while Redis is down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from .asgi import rate_limited
from .auth import Caller
from .shared import SharedState

__all__ = [
    "KeyTokens",
    "LocalTokenWindows",
    "reported_tokens",
    "NO_TOKEN_PROVIDERS",
    "MAX_TPM",
    "WINDOW_SECONDS",
]

#: The length of a key's token window.
WINDOW_SECONDS = 60.0
#: The largest `tpm` accepted (and the most tokens one answer may add): a trillion.
MAX_TPM = 10**12

#: Providers (model prefixes) whose rerank answers carry no token count, so a key's
#: `tpm` counts nothing for them: `cohere`/`azure_ai`/`bedrock` bill search units,
#: `pinecone` rerank units; `tei`, `huggingface`, `vertex_ai` and `local` report nothing.
NO_TOKEN_PROVIDERS = frozenset(
    {"cohere", "azure_ai", "bedrock", "pinecone", "tei", "huggingface", "vertex_ai", "local"}
)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value >= 0:
        return min(value, MAX_TPM)  # what an upstream says is bounded like the setting
    return None


def reported_tokens(usage: Mapping[str, Any] | None) -> int | None:
    """The tokens an answer's `meta.usage` reports, or None when it reports none.

    `total_tokens` (Jina, Voyage, Together, Mixedbread, Infinity, vLLM, NIM), else
    `tokens` as a number (rerankit-onnx), else input plus output tokens
    (`prompt_tokens`/`input_tokens`, `completion_tokens`/`output_tokens`), also under
    `tokens` or `billed_units` (Cohere's `meta` shape). Search or rerank units are not
    tokens and are not counted.
    """
    if not usage:
        return None
    total = _count(usage.get("total_tokens"))
    if total is not None:
        return total
    tokens = usage.get("tokens")
    if not isinstance(tokens, Mapping):
        counted = _count(tokens)
        if counted is not None:
            return counted
    for place in (usage, tokens, usage.get("billed_units")):
        if not isinstance(place, Mapping):
            continue
        parts = [
            _count(place.get(name))
            for name in ("prompt_tokens", "input_tokens", "completion_tokens", "output_tokens")
        ]
        found = [p for p in parts if p is not None]
        if found:
            return min(sum(found), MAX_TPM)
    return None


class LocalTokenWindows:
    """Per-process token windows keyed by an opaque caller id (`tpm / workers` each)."""

    def __init__(self, *, workers: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._workers = max(1, workers)
        self._clock = clock
        #: caller id -> (end of its window, tokens counted in it)
        self._windows: dict[bytes, tuple[float, int]] = {}

    def wait(self, caller: bytes, tpm: int) -> float | None:
        """None if `caller` is under its share of `tpm` now, else the seconds until its
        window ends."""
        window = self._windows.get(caller)
        if window is None:
            return None
        now = self._clock()
        end, used = window
        if now >= end:
            del self._windows[caller]
            return None
        return end - now if used >= math.ceil(tpm / self._workers) else None

    def add(self, caller: bytes, tokens: int) -> None:
        """Count `tokens` in `caller`'s window (one starts now if none is running)."""
        now = self._clock()
        end, used = self._windows.get(caller, (0.0, 0))
        if now >= end:
            end, used = now + WINDOW_SECONDS, 0
        self._windows[caller] = (end, used + tokens)


class KeyTokens:
    """Keys' `tpm`: checked before a request, counted after its answer; through Redis
    when `shared` is set and answers, else in this process's windows."""

    def __init__(self, shared: SharedState | None, workers: int = 1) -> None:
        self.shared = shared
        self.local = LocalTokenWindows(workers=workers)

    async def check(self, caller: Caller) -> None:
        """Raise 429 (`ApiError`) when the tokens counted in the key's window already
        reach its `tpm`."""
        assert caller.tpm is not None
        wait: float | bool | None = False
        if self.shared is not None:
            wait = await self.shared.tokens_wait(caller.digest, caller.tpm)
        if wait is False:
            wait = self.local.wait(caller.digest, caller.tpm)
        if wait is not None:
            raise rate_limited(
                f"Key {caller.name!r} used its {caller.tpm} tokens of this minute.",
                "key_token_limited",
                wait,
            )

    async def add(self, caller: Caller | None, tokens: int) -> None:
        """Count an answer's reported `tokens` in the key's window."""
        if caller is None:
            return
        if self.shared is None or not await self.shared.add_tokens(caller.digest, tokens):
            self.local.add(caller.digest, tokens)
