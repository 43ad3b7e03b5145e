"""Progress of a long `rerankit rerank` on a terminal: upstream requests done of expected.

A call larger than its provider's `max_documents_per_request` is split into several
upstream requests. The command counts finished requests at the one place every request
passes, the httpx transport, and redraws one status line on standard error. Shown only
when standard error is a terminal, the output is not `--json` and more than one request
is expected; nothing else changes (the transport is the client's own, deadline included).
"""

from __future__ import annotations

import threading
from typing import TextIO

import httpx

from ._deadline_io import install as install_deadline

__all__ = ["ProgressLine", "CountingTransport", "counting_transport"]


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


class CountingTransport(httpx.BaseTransport):
    """An httpx transport that reports each finished request to a `ProgressLine`."""

    def __init__(self, inner: httpx.BaseTransport, progress: ProgressLine) -> None:
        self._inner = inner
        self._progress = progress

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the inner transport; count the request whatever its outcome."""
        try:
            return self._inner.handle_request(request)
        finally:
            self._progress.advance()

    def close(self) -> None:
        """Close the inner transport."""
        self._inner.close()


def counting_transport(progress: ProgressLine) -> CountingTransport:
    """The client's default transport (with the socket deadline cap), counted."""
    inner = httpx.HTTPTransport()
    install_deadline(inner)
    return CountingTransport(inner, progress)
