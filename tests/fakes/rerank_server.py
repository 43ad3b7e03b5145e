"""A configurable fake rerank server on 127.0.0.1 for provider integration tests.

One server speaks any provider's wire format: each test sets `server.handler`, a callable
that receives the parsed request (`Seen`) and returns a `Reply` (status, headers, body).
The server records every request so that tests can check what rerankit sent (path,
headers, body fields).

```py
with FakeRerankServer() as server:
    server.handler = lambda seen: Reply(200, {"results": [{"index": 0, "relevance_score": 1}]})
    rerankit.rerank("jina_ai/m", "q", ["d"], api_base=server.url, api_key="k")
    assert server.requests[-1].path == "/v1/rerank"
```

`overlap_score` is a deterministic scorer handlers use to answer, so that tests can
compute the expected order independently.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["FakeRerankServer", "Reply", "Seen", "overlap_score", "ranked"]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None


@dataclass(frozen=True)
class Reply:
    """What to answer: a status, a body (JSON-encoded unless bytes or str) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


Handler = Callable[[Seen], Reply]


def _not_configured(seen: Seen) -> Reply:
    return Reply(500, {"message": "the test set no handler"})


class FakeRerankServer:
    """A threaded HTTP server on 127.0.0.1 answering every POST with `handler(seen)`."""

    def __init__(self, handler: Handler = _not_configured) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                seen = Seen(
                    method="POST",
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=raw,
                    json=parsed,
                )
                with server._lock:
                    server.requests.append(seen)
                reply = server.handler(seen)
                payload, content_type = reply.encoded()
                self.send_response(reply.status)
                headers = {"content-type": content_type, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # A short poll interval so that shutdown (once per test module) takes ms, not 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL, `http://127.0.0.1:<port>`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def clear(self) -> None:
        """Forget recorded requests."""
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def overlap_score(query: str, text: str) -> float:
    """A deterministic relevance in 0..1: the share of query words found in `text`."""
    words = {w for w in query.lower().split() if w}
    found = {w for w in text.lower().split() if w}
    return round(len(words & found) / len(words), 6) if words else 0.0


def ranked(query: str, texts: list[str], top: int | None = None) -> list[tuple[int, float]]:
    """`(index, overlap_score)` best first (ties by index), cut to `top`."""
    pairs = sorted(
        ((i, overlap_score(query, t)) for i, t in enumerate(texts)),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return pairs[:top] if top is not None else pairs
