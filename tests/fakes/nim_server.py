"""A fake NVIDIA NIM reranking server on 127.0.0.1, for tests and benchmarks.

Raw asyncio HTTP/1.1 (keep-alive, Content-Length bodies), no dependencies, running on its
own event loop in a daemon thread. It speaks NIM's wire format on the hosted routes
(`POST /v1/retrieval/{org}/{model}/reranking`, `POST /v1/retrieval/nvidia/reranking`) and
the self-hosted ones (`POST /v1/ranking`, `GET /v1/models`, `GET /v1/health/{live,ready}`),
validates requests like the real service, and scores each (query, passage) pair on its
own (`score`), so a split request merges to exactly the one-request ranking.

    with FakeNimServer(api_key="k") as nim:
        httpx.post(f"{nim.url}/v1/ranking", json=..., headers={"Authorization": "Bearer k"})
        nim.requests[-1].json

Faults, per request: header `X-Fake-Fault: <mode>`, or `enqueue_faults([...])` (consumed
one per POST, in order). Modes: `status:<code>`, `429`, `429:<seconds>`,
`429-date:<seconds>`, `reset`, `hang`, `drip:<seconds_per_byte>`, `malformed-json`,
`html-502`, `truncated`, `bare-list`, `out-of-range`, `repeated`, `fewer`,
`extra-fields`, `empty-body`, `slow:<seconds>`.

Standalone: `python -m tests.fakes.nim_server --port 8000 [--latency 0.05]
[--failure-rate 0.3] [--api-key K]`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import email.utils
import json
import random
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeNimServer", "RecordedRequest", "score", "MODEL_ID"]

MODEL_ID = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
ALLOWED_FIELDS = ("model", "query", "passages", "truncate")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def score(query: str, passage: str) -> float:
    """The logit of one (query, passage) pair: shared query words, plus a stable tie-break."""
    words = set(query.lower().split())
    hits = sum(1 for w in words if w in passage.lower())
    return 2.0 * hits - 3.0 + (zlib.crc32(passage.encode()) % 10007) / 1e5


@dataclass
class RecordedRequest:
    """A POST the server received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class FakeNimServer:
    """The fake NIM. `start()`/`stop()` or use it as a context manager; `.url` is its base."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        max_passages: int = 512,
        max_tokens: int = 8192,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        failure_statuses: tuple[int, ...] = (429, 503),
        seed: int | None = None,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.max_passages = max_passages
        self.max_tokens = max_tokens
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_statuses = failure_statuses
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.post_count = 0
        self.connections_opened = 0
        self._random = random.Random(seed)
        self._faults: collections.deque[str] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- life cycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeNimServer:
        """Start serving in a background thread; returns once the port is bound."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-nim", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        """Close every connection and the listener, and join the thread."""
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def __enter__(self) -> FakeNimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget recorded requests and queued faults."""
        self.requests.clear()
        self._faults.clear()

    def enqueue_faults(self, modes: list[str]) -> None:
        """Queue fault modes, consumed one per POST in order."""
        self._faults.extend(modes)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_opened += 1
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                keep = await self._respond(method, target.split("?", 1)[0], headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Write one answer; False when the connection must not be reused."""
        if method == "GET":
            self._write(writer, self._get(path))
            return True
        if method != "POST":
            self._write(writer, _error(405, f"method {method} not allowed"))
            return True
        self.post_count += 1
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        self.requests.append(RecordedRequest(method, path, headers, parsed))
        fault = headers.get("x-fake-fault") or (self._faults.popleft() if self._faults else None)
        if fault is None and self.failure_rate and self._random.random() < self.failure_rate:
            status = self._random.choice(self.failure_statuses)
            fault = "429:0" if status == 429 else f"status:{status}"
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            return await self._fault(fault, path, headers, parsed, body, writer)
        self._write(writer, self._post(path, headers, parsed, body))
        return True

    def _get(self, path: str) -> _Answer:
        if path == "/v1/models":
            return _json(200, {"object": "list", "data": [{"id": MODEL_ID}]})
        if path in ("/v1/health/live", "/v1/health/ready"):
            return _json(200, {"status": "ready" if path.endswith("ready") else "live"})
        return _error(404, f"no route {path}")

    def _post(self, path: str, headers: dict[str, str], parsed: Any, raw: bytes) -> _Answer:
        if not (
            path == "/v1/ranking"
            or (
                path.startswith("/v1/retrieval/")
                and path.endswith("/reranking")
                and path.count("/") in (4, 5)
            )
        ):
            return _error(404, f"no route {path}")
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return _json(
                401, {"status": 401, "title": "Unauthorized", "detail": "Authentication failed"}
            )
        if parsed is None and raw:
            return _error(400, "request body is not valid JSON")
        if not isinstance(parsed, dict):
            return _error(400, "request body must be a JSON object")
        for name in parsed:
            if name not in ALLOWED_FIELDS:
                return _error(
                    400, f"{name}: unknown field, expected one of " + ", ".join(ALLOWED_FIELDS)
                )
        query, passages = parsed.get("query"), parsed.get("passages")
        if not isinstance(query, dict) or not isinstance(query.get("text"), str):
            return _error(400, "query: expected an object with a string 'text'")
        if (
            not isinstance(passages, list)
            or not passages
            or not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in passages)
        ):
            return _error(400, "passages: expected a non-empty list of objects with 'text'")
        if len(passages) > self.max_passages:
            return _error(
                400,
                f"passages: at most {self.max_passages} passages per request, got {len(passages)}",
            )
        truncate = parsed.get("truncate")
        if truncate is not None and truncate not in ("NONE", "END"):
            return _error(422, f"truncate: expected 'NONE' or 'END', got {truncate!r}")
        query_tokens = len(query["text"].split())
        texts = []
        for p in passages:
            words = p["text"].split()
            total = query_tokens + len(words)
            if total > self.max_tokens:
                if truncate != "END":
                    return _error(
                        400,
                        f"Input length {total} exceeds maximum allowed token "
                        f"size {self.max_tokens}",
                    )
                words = words[: max(0, self.max_tokens - query_tokens)]
                texts.append(" ".join(words))
            else:
                texts.append(p["text"])
        return _json(200, {"rankings": self._rankings(query["text"], texts)})

    @staticmethod
    def _rankings(query: str, texts: list[str]) -> list[dict[str, Any]]:
        ranked = [{"index": i, "logit": score(query, t)} for i, t in enumerate(texts)]
        ranked.sort(key=lambda r: -r["logit"])
        return ranked

    async def _fault(
        self,
        mode: str,
        path: str,
        headers: dict[str, str],
        parsed: Any,
        raw: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        kind, _, arg = mode.partition(":")
        if kind == "status":
            code = int(arg)
            self._write(writer, _error(code, f"injected {code}"))
            return True
        if kind == "429":
            self._write(writer, _error(429, "rate limited", {"Retry-After": arg or "1"}))
            return True
        if kind == "429-date":
            when = email.utils.formatdate(time.time() + float(arg or 1), usegmt=True)
            self._write(writer, _error(429, "rate limited", {"Retry-After": when}))
            return True
        if kind == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: appl")
            await writer.drain()
            writer.transport.abort()
            return False
        if kind == "hang":
            await asyncio.Event().wait()  # until the client leaves or the server stops
        if kind == "slow":
            await asyncio.sleep(float(arg))
            self._write(writer, self._post(path, headers, parsed, raw))
            return True
        if kind == "html-502":
            page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
            self._write(writer, _Answer(502, page, content_type="text/html"))
            return True
        if kind == "empty-body":
            self._write(writer, _Answer(200, b""))
            return True
        if kind == "malformed-json":
            self._write(writer, _Answer(200, b'{"rankings": [{"index": 0, "logit": '))
            return True
        answer = self._post(path, headers, parsed, raw)
        if answer.status != 200:
            self._write(writer, answer)
            return True
        rankings = json.loads(answer.body)["rankings"]
        if kind == "drip":
            data = self._encode(answer)
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(float(arg or 0.1))
            return True
        if kind == "truncated":
            data = self._encode(answer)
            writer.write(data[: len(data) - max(1, len(answer.body) // 2)])
            await writer.drain()
            writer.transport.abort()
            return False
        shaped: Any
        if kind == "bare-list":
            shaped = rankings
        elif kind == "out-of-range":
            rankings[-1]["index"] = len(rankings) + 5
            shaped = {"rankings": rankings}
        elif kind == "repeated":
            if len(rankings) > 1:
                rankings[-1]["index"] = rankings[0]["index"]
            else:
                rankings.append(dict(rankings[0]))
            shaped = {"rankings": rankings}
        elif kind == "fewer":
            shaped = {"rankings": rankings[:-1]}
        elif kind == "extra-fields":
            shaped = {
                "rankings": [{**r, "extra": "x", "token_count": 7} for r in rankings],
                "usage": {"prompt_tokens": 10},
                "object": "list",
                "unknown": [1],
            }
        else:
            self._write(writer, _error(400, f"unknown fake fault {mode!r}"))
            return True
        self._write(writer, _json(200, shaped))
        return True

    # -- encoding --------------------------------------------------------------------------

    @staticmethod
    def _encode(answer: _Answer) -> bytes:
        head = [
            f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'Status')}",
            f"Content-Type: {answer.content_type}",
            f"Content-Length: {len(answer.body)}",
            *(f"{k}: {v}" for k, v in answer.headers.items()),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body

    def _write(self, writer: asyncio.StreamWriter, answer: _Answer) -> None:
        writer.write(self._encode(answer))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(body).encode(), headers or {})


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> _Answer:
    return _json(status, {"detail": detail}, headers)


def main() -> None:
    """Run the fake NIM in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="Fake NVIDIA NIM reranking server")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--api-key")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    server = FakeNimServer(
        api_key=args.api_key,
        latency=args.latency,
        failure_rate=args.failure_rate,
        seed=args.seed,
        port=args.port,
    )
    server.start()
    print(f"fake NIM listening on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
