"""Progress of a long `rerankit rerank` on a terminal: upstream requests done of expected.

A call larger than its provider's `max_documents_per_request` is split into several
upstream requests. The command counts finished requests with a life-cycle plugin of its
client (`rerank_attempt_finished`), and redraws one status line on standard error. Shown
only when standard error is a terminal, the output is not `--json` and more than one
request is expected; nothing else changes (the client builds its own pool, so the deadline
cap, proxies and TLS settings apply as for any call).
"""

from __future__ import annotations

import threading
from typing import TextIO

from .hookspecs import hookimpl
from .lifecycle import AttemptContext, CallContext

__all__ = ["ProgressLine", "ProgressPlugin"]


class ProgressLine:
    """One redrawn line: `reranking 2,000 documents: 3/4 upstream requests`."""

    def __init__(self, stream: TextIO, *, documents: int, expected: int) -> None:
        self._stream = stream
        self._documents = documents
        self._expected = expected
        self._done = 0
        self._lock = threading.Lock()

    def advance(self) -> None:
        """One more upstream request finished (retries count too, capped at expected)."""
        with self._lock:
            self._done += 1
            shown = min(self._done, self._expected)
            self._stream.write(
                f"\rreranking {self._documents:,} documents: "
                f"{shown}/{self._expected} upstream requests"
            )
            self._stream.flush()

    def close(self) -> None:
        """Erase the line, so the results start on a clean terminal line."""
        with self._lock:
            if self._done:
                self._stream.write("\r\x1b[K")
                self._stream.flush()


class ProgressPlugin:
    """A client's life-cycle plugin that advances a `ProgressLine` per finished attempt."""

    def __init__(self, progress: ProgressLine) -> None:
        self._progress = progress

    @hookimpl
    def rerank_attempt_finished(self, call: CallContext, attempt: AttemptContext) -> None:
        """Count the request whatever its outcome."""
        self._progress.advance()
