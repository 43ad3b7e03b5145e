"""A fake upstream for tests: canned answers in, recorded requests out, no sockets.

`FakeUpstream` plugs into `rerankit.Client(transport=...)` and `AsyncClient` through an
`httpx.MockTransport`. Each request it receives is recorded as a `rerankit.HttpRequest`
(method, URL, lower-cased headers, parsed JSON body) and answered by the next queued
`CannedResponse`, else by its default answer.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..wire import HttpRequest

__all__ = ["CannedResponse", "FakeUpstream", "Answer"]


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """What the fake upstream answers: a status, headers and a raw body.

    Build JSON answers with `CannedResponse.from_json(...)` and anything else (HTML from a
    load balancer, plain text, truncated bytes) with `CannedResponse.from_text(...)` or
    the constructor.
    """

    status: int = 200
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(
        cls, body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> CannedResponse:
        """An answer whose body is `body` encoded as JSON."""
        return cls(
            status,
            json.dumps(body).encode(),
            {"content-type": "application/json", **(headers or {})},
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        status: int = 200,
        content_type: str = "text/plain",
        headers: Mapping[str, str] | None = None,
    ) -> CannedResponse:
        """An answer whose body is `text` (UTF-8) with the given content type."""
        return cls(status, text.encode(), {"content-type": content_type, **(headers or {})})


#: How a fake upstream answers a request: a fixed answer, a function of the request, or an
#: exception to raise instead of answering (e.g. `httpx.ConnectError("refused")`).
Answer = CannedResponse | Callable[[HttpRequest], CannedResponse] | BaseException


class FakeUpstream:
    """An in-process upstream: serves canned answers and records every request.

    ```py
    upstream = FakeUpstream(CannedResponse.from_json({"results": []}))
    client = rerankit.Client(registry=registry, transport=upstream.transport)
    ```

    Thread-safe: a client may send several requests of one call at once.
    """

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default
        #: Every request received, in arrival order.
        self.requests: list[HttpRequest] = []
        self._queue: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.transport = httpx.MockTransport(self._handle)
        """The transport to pass as `transport=` to `Client` or `AsyncClient`."""

    def serve(self, *answers: Answer) -> None:
        """Queue answers for the next requests, in order (then the default answers)."""
        with self._lock:
            self._queue.extend(answers)

    def clear(self) -> None:
        """Forget recorded requests and queued answers."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    def _handle(self, request: httpx.Request) -> httpx.Response:
        recorded = _record(request)
        with self._lock:
            self.requests.append(recorded)
            answer = self._queue.popleft() if self._queue else self.default
        if answer is None:
            raise AssertionError(
                f"The fake upstream has no answer for {request.method} {request.url}: "
                f"queue one with FakeUpstream.serve(...) or give it a default."
            )
        if isinstance(answer, BaseException):
            raise answer
        canned = answer(recorded) if callable(answer) else answer
        return httpx.Response(canned.status, headers=dict(canned.headers), content=canned.content)


def _record(request: httpx.Request) -> HttpRequest:
    content = request.read()
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = None
    headers = {k.lower(): v for k, v in request.headers.items()}
    return HttpRequest(request.method, str(request.url), headers, body)
