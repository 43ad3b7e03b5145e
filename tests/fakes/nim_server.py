"""A fake NVIDIA NIM reranking server on 127.0.0.1, for tests and benchmarks.

Standard library only: a raw asyncio HTTP/1.1 server (keep-alive, `Content-Length` request
bodies) on its own event loop in a daemon thread. It speaks NIM's wire format:

    POST /v1/retrieval/{org}/{model}/reranking   hosted form (`llama-3_2-...` in the path)
    POST /v1/retrieval/nvidia/reranking          hosted, shared path of the old mistral model
    POST /v1/ranking                             self-hosted NIM container
    GET  /v1/models, /v1/health/live, /v1/health/ready

and validates requests like the real service (unknown fields, `truncate`, at most
`max_passages` passages, at most `max_tokens` whitespace-separated words per query+passage
pair). Each (query, passage) pair is scored on its own by `score`, so a request split into
chunks merges to exactly the ranking of the single request; ties keep request order.

    with FakeNimServer(api_key="k") as nim:
        httpx.post(f"{nim.url}/v1/ranking", json=body, headers={"Authorization": "Bearer k"})
        assert nim.requests[-1].json == body and nim.post_count == 1

Faults, for reliability tests: a request header `X-Fake-Fault: <mode>` applies to that POST;
`nim.enqueue_faults([...])` queues modes consumed one per POST, in order (a header wins and
leaves the queue alone). `FAULT_MODES` lists the modes; see the `_fault` handlers below, and
register a new one with the `@_fault(name, ...)` decorator. `failure_rate` answers a random
(seeded) share of POSTs with one of `failure_statuses` (429 with `Retry-After: 0`).

Standalone, in the foreground (requests are not recorded):

    python -m tests.fakes.nim_server --port 8000 [--latency 0.05] [--failure-rate 0.3]
        [--api-key K] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import email.utils
import json
import random
import re
import signal
import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

__all__ = ["FAULT_MODES", "MODEL_ID", "FakeNimServer", "RecordedRequest", "score"]

MODEL_ID = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
ALLOWED_FIELDS = ("model", "query", "passages", "truncate")

_HOSTED = re.compile(r"/v1/retrieval/(?:nvidia|(?!\.+/)[\w.-]+/(?!\.+/)[\w.-]+)/reranking")
_POST_PATHS = ("/v1/ranking",)
_GET_PATHS = ("/v1/models", "/v1/health/live", "/v1/health/ready")
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)


# -- scoring ------------------------------------------------------------------------------------


def _query_words(query: str) -> frozenset[str]:
    return frozenset(query.lower().split())


def _logit(words: frozenset[str], passage: str) -> float:
    text = passage.lower()
    hits = len([word for word in words if word in text])
    return 2.0 * hits - 3.0 + (zlib.crc32(passage.encode()) % 10007) / 1e5


def score(query: str, passage: str) -> float:
    """The fake logit of one (query, passage) pair.

    2 per distinct lower-cased query word found (as a substring) in the lower-cased passage,
    minus 3, plus a stable tie-break below 0.1 from the CRC-32 of the passage text. It depends
    on this pair only. With `truncate: "END"`, an over-long passage is scored as cut.
    """
    return _logit(_query_words(query), passage)


# -- wire helpers -------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """A POST the server received: header names lower-cased, `json` None when not JSON."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = b""


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, *, close: bool = False, content_length: int | None = None) -> bytes:
        length = len(self.body) if content_length is None else content_length
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {length}",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Answer:
    body = _ENCODER.encode(payload).encode()
    return _Answer(status, body, headers=headers or {})


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> _Answer:
    return _json(status, {"detail": detail}, headers)


_INVALID = object()  # the parsed body of a request that is not JSON


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else _INVALID
    except ValueError:  # includes UnicodeDecodeError
        return _INVALID


# -- fault modes --------------------------------------------------------------------------------


@dataclass
class _Exchange:
    """One POST being answered: what a fault handler needs."""

    server: FakeNimServer
    headers: dict[str, str]
    parsed: Any
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    close: bool = False  # the client asked to close the connection after this answer

    def answer(self) -> _Answer:
        """The normal answer to this request."""
        result = self.server._rank(self.headers, self.parsed)
        if isinstance(result, _Answer):
            return result
        tokens = self.server.usage_tokens
        if tokens is None:
            return _json(200, {"rankings": result})
        # As the hosted API reports it: the tokens of the request.
        return _json(
            200, {"rankings": result, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    async def send(self, answer: _Answer, *, close: bool = False) -> bool:
        """Write `answer`; returns whether the connection stays open."""
        close = close or self.close
        self.writer.write(answer.encode(close=close))
        await self.writer.drain()
        return not close

    async def reshape(self, change: Callable[[list[dict[str, Any]]], Any]) -> bool:
        """Answer with `change(rankings)` when the request is valid, else with its error."""
        result = self.server._rank(self.headers, self.parsed)
        if isinstance(result, _Answer):
            return await self.send(result)
        return await self.send(_json(200, change(result)))


# A handler gets the exchange and its parsed argument; it returns whether the connection
# may serve another request.
FaultHandler = Callable[[_Exchange, Any], Awaitable[bool]]


@dataclass(frozen=True)
class _FaultMode:
    handler: FaultHandler
    parse: Callable[[str], Any] | None  # None: the mode takes no argument
    default: str | None  # the argument when omitted; None: required


_FAULTS: dict[str, _FaultMode] = {}


def _fault(
    name: str, parse: Callable[[str], Any] | None = None, default: str | None = None
) -> Callable[[FaultHandler], FaultHandler]:
    """Register a fault mode `name` or `name:<arg>` (arg converted by `parse`)."""

    def register(handler: FaultHandler) -> FaultHandler:
        _FAULTS[name] = _FaultMode(handler, parse, default)
        return handler

    return register


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"expected seconds >= 0, got {text!r}")
    return value


def _status(text: str) -> int:
    value = int(text)
    if not 100 <= value <= 599:
        raise ValueError(f"expected an HTTP status, got {text!r}")
    return value


def _parse_fault(mode: str) -> tuple[FaultHandler, Any]:
    """The handler and argument of `mode`; ValueError when the mode is unknown or malformed."""
    name, colon, arg = mode.strip().partition(":")
    spec = _FAULTS.get(name)
    if spec is None:
        raise ValueError(f"unknown fake fault {mode!r}; known: {', '.join(FAULT_MODES)}")
    if spec.parse is None:
        if colon:
            raise ValueError(f"fake fault {name!r} takes no argument")
        return spec.handler, None
    if not colon:
        if spec.default is None:
            raise ValueError(f"fake fault {name!r} needs an argument: {name}:<value>")
        arg = spec.default
    try:
        return spec.handler, spec.parse(arg)
    except ValueError as exc:
        raise ValueError(f"fake fault {mode!r}: {exc}") from None


@_fault("status", _status)
async def _fault_status(ex: _Exchange, code: int) -> bool:
    """`status:<code>`: that status with a JSON error body."""
    return await ex.send(_error(code, f"injected {code} {_REASONS.get(code, '')}".strip()))


def _retry_after(text: str) -> str:
    _seconds(text)
    return text


@_fault("429", _retry_after, default="0")
async def _fault_429(ex: _Exchange, seconds: str) -> bool:
    """`429` or `429:<seconds>`: Too Many Requests with `Retry-After: <seconds>` (default 0)."""
    return await ex.send(_error(429, "rate limited", {"Retry-After": seconds}))


@_fault("429-date", _seconds, default="1")
async def _fault_429_date(ex: _Exchange, seconds: float) -> bool:
    """`429-date:<seconds>` (default 1): Retry-After as an HTTP date that far ahead."""
    when = email.utils.formatdate(time.time() + seconds, usegmt=True)
    return await ex.send(_error(429, "rate limited", {"Retry-After": when}))


@_fault("reset")
async def _fault_reset(ex: _Exchange, _: None) -> bool:
    """`reset`: the status line and part of a header, then a TCP reset."""
    ex.writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
    await ex.writer.drain()
    sock = ex.writer.get_extra_info("socket")
    if sock is not None:  # linger 0: close() sends RST instead of FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ex.writer.transport.abort()
    return False


@_fault("hang")
async def _fault_hang(ex: _Exchange, _: None) -> bool:
    """`hang`: never answer; ends when the client goes away or the server stops."""
    while await ex.reader.read(65536):
        pass
    return False


@_fault("drip", _seconds, default="0.05")
async def _fault_drip(ex: _Exchange, delay: float) -> bool:
    """`drip:<seconds_per_byte>` (default 0.05): the normal answer, one byte at a time."""
    data = ex.answer().encode()
    for i in range(len(data)):
        ex.writer.write(data[i : i + 1])
        await ex.writer.drain()
        await asyncio.sleep(delay)
    return True


@_fault("slow", _seconds)
async def _fault_slow(ex: _Exchange, delay: float) -> bool:
    """`slow:<seconds>`: sleep, then the normal answer."""
    await asyncio.sleep(delay)
    return await ex.send(ex.answer())


@_fault("truncated")
async def _fault_truncated(ex: _Exchange, _: None) -> bool:
    """`truncated`: Content-Length of the full answer, half the body sent, then close."""
    answer = ex.answer()
    data = answer.encode()
    ex.writer.write(data[: len(data) - max(1, len(answer.body) // 2)])
    await ex.writer.drain()
    ex.writer.close()
    return False


@_fault("close")
async def _fault_close(ex: _Exchange, _: None) -> bool:
    """`close`: the normal answer with `Connection: close`, then close the connection."""
    return await ex.send(ex.answer(), close=True)


@_fault("malformed-json")
async def _fault_malformed_json(ex: _Exchange, _: None) -> bool:
    """`malformed-json`: 200 whose JSON body is cut short."""
    return await ex.send(_Answer(200, b'{"rankings": [{"index": 0, "logit": '))


@_fault("html-502")
async def _fault_html_502(ex: _Exchange, _: None) -> bool:
    """`html-502`: a load balancer's text/html 502 page."""
    return await ex.send(_Answer(502, _HTML_502, content_type="text/html"))


@_fault("empty-body")
async def _fault_empty_body(ex: _Exchange, _: None) -> bool:
    """`empty-body`: 200 with no body at all."""
    return await ex.send(_Answer(200))


@_fault("bare-list")
async def _fault_bare_list(ex: _Exchange, _: None) -> bool:
    """`bare-list`: the rankings as a bare JSON array, not under `rankings`."""
    return await ex.reshape(lambda rankings: rankings)


def _out_of_range(rankings: list[dict[str, Any]]) -> dict[str, Any]:
    rankings[-1]["index"] = len(rankings)  # the first index past the end
    return {"rankings": rankings}


def _repeated(rankings: list[dict[str, Any]]) -> dict[str, Any]:
    if len(rankings) > 1:
        rankings[-1]["index"] = rankings[0]["index"]
    else:
        rankings.append(dict(rankings[0]))
    return {"rankings": rankings}


def _extra_fields(rankings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "list",
        "id": "fake-0",
        "rankings": [{**r, "token_count": 7, "extra": {"x": 1}} for r in rankings],
        "usage": {"prompt_tokens": 10},
    }


@_fault("out-of-range")
async def _fault_out_of_range(ex: _Exchange, _: None) -> bool:
    """`out-of-range`: the last ranking's index is the number of passages."""
    return await ex.reshape(_out_of_range)


@_fault("repeated")
async def _fault_repeated(ex: _Exchange, _: None) -> bool:
    """`repeated`: the first ranking's index appears twice."""
    return await ex.reshape(_repeated)


@_fault("fewer")
async def _fault_fewer(ex: _Exchange, _: None) -> bool:
    """`fewer`: the last (lowest) ranking is missing."""
    return await ex.reshape(lambda rankings: {"rankings": rankings[:-1]})


@_fault("extra-fields")
async def _fault_extra_fields(ex: _Exchange, _: None) -> bool:
    """`extra-fields`: the correct ranking plus unknown top-level and per-ranking fields."""
    return await ex.reshape(_extra_fields)


FAULT_MODES: tuple[str, ...] = tuple(_FAULTS)


# -- the server ---------------------------------------------------------------------------------


class FakeNimServer:
    """The fake NIM; `start()`/`stop()` or a `with` block. `url` is its base URL.

    Attributes for tests: `requests` (recorded POSTs), `post_count` (every POST, faulted ones
    included), `connections_opened` (TCP connections accepted); `clear()` forgets requests
    and queued faults (the counters keep counting). With `usage_tokens`, every answer
    reports that many tokens in `usage` (`prompt_tokens`, `total_tokens`).
    """

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
        record: bool = True,
        usage_tokens: int | None = None,
    ) -> None:
        self.usage_tokens = usage_tokens
        self.api_key = api_key
        self.max_passages = max_passages
        self.max_tokens = max_tokens
        self.latency = latency
        self.failure_rate = failure_rate
        self.failure_statuses = tuple(failure_statuses)
        self.port = port
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.post_count = 0
        self.connections_opened = 0
        self._random = random.Random(seed)
        self._faults: collections.deque[tuple[FaultHandler, Any]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeNimServer:
        """Serve in a daemon thread; returns once the port is bound (raises if it cannot be).

        After `stop()`, `start()` again serves on the same port.
        """
        if self._thread is not None:
            raise RuntimeError("FakeNimServer is already running")
        loop = asyncio.new_event_loop()
        bound: list[BaseException | None] = []
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
                )
                self.port = self._server.sockets[0].getsockname()[1]
                bound.append(None)
            except BaseException as exc:
                bound.append(exc)
            ready.set()
            if bound[0] is None:
                loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name=f"fake-nim-{self.port}", daemon=True)
        thread.start()
        ready.wait()
        if bound[0] is not None:
            thread.join()
            raise bound[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Close the listener and every connection (hung ones too), and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = self._server = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def __enter__(self) -> FakeNimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test controls ------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the recorded requests and any queued faults."""
        self.requests.clear()
        self._faults.clear()

    def enqueue_faults(self, modes: list[str]) -> None:
        """Queue fault modes, consumed one per POST in order; ValueError on an unknown mode."""
        self._faults.extend([_parse_fault(mode) for mode in modes])

    # -- HTTP ---------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: requests in turn until either side closes it."""
        self.connections_opened += 1
        self._writers.add(writer)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client went away, or sent something unreadable
        except asyncio.CancelledError:
            pass  # stop(): the transport is already aborted
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise
            return False  # the client closed an idle connection
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, colon, value = line.partition(":")
                    if not colon:
                        raise ValueError(line)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length < 0:
                raise ValueError(length)
        except ValueError:
            writer.write(_error(400, "malformed HTTP request").encode(close=True))
            return False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            writer.write(_error(411, "send a Content-Length body").encode(close=True))
            return False
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await reader.readexactly(length) if length else b""

        connection = headers.get("connection", "").lower()
        keep_alive = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
        path = target.split("?", 1)[0]
        allowed = "POST" if path in _POST_PATHS or _HOSTED.fullmatch(path) else None
        allowed = "GET" if path in _GET_PATHS else allowed
        if method == "POST":
            self.post_count += 1
            parsed = _parse_json(body)
            if self.record:
                json_body = None if parsed is _INVALID else parsed
                self.requests.append(RecordedRequest(method, path, headers, json_body, body))
            if allowed == "POST":
                exchange = _Exchange(self, headers, parsed, reader, writer, close=not keep_alive)
                return await self._answer_post(exchange) and keep_alive
        if allowed is None:
            answer = _error(404, f"Not Found: {path}")
        elif method != allowed:
            answer = _error(405, f"{method} {path}: use {allowed}", {"Allow": allowed})
        else:
            answer = self._answer_get(path)
        writer.write(answer.encode(close=not keep_alive))
        await writer.drain()
        return keep_alive

    async def _answer_post(self, exchange: _Exchange) -> bool:
        """Answer a POST to a rerank route, applying any fault; False to close."""
        fault: tuple[FaultHandler, Any] | None = None
        header = exchange.headers.get("x-fake-fault")
        if header is not None:
            try:
                fault = _parse_fault(header)
            except ValueError as exc:
                return await exchange.send(_error(400, str(exc)))
        elif self._faults:
            fault = self._faults.popleft()
        elif self.failure_rate and self._random.random() < self.failure_rate:
            status = self._random.choice(self.failure_statuses)
            fault = _parse_fault("429:0" if status == 429 else f"status:{status}")
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is None:
            return await exchange.send(exchange.answer())
        handler, arg = fault
        return await handler(exchange, arg)

    def _answer_get(self, path: str) -> _Answer:
        if path == "/v1/models":
            return _json(200, {"object": "list", "data": [{"id": MODEL_ID}]})
        state = path.rsplit("/", 1)[-1]
        return _json(200, {"object": "health.response", "status": state, "message": state})

    def _rank(self, headers: dict[str, str], parsed: Any) -> list[dict[str, Any]] | _Answer:
        """The rankings for a request, or the error answer the real service would give."""
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return _json(
                401, {"status": 401, "title": "Unauthorized", "detail": "Authentication failed"}
            )
        if parsed is _INVALID:
            return _error(400, "request body is not valid JSON")
        if not isinstance(parsed, dict):
            return _error(400, "request body must be a JSON object")
        for name in parsed:
            if name not in ALLOWED_FIELDS:
                expected = ", ".join(ALLOWED_FIELDS)
                return _error(400, f"{name}: unknown field, expected one of {expected}")
        model, query, passages = parsed.get("model"), parsed.get("query"), parsed.get("passages")
        if model is not None and not isinstance(model, str):
            return _error(400, "model: expected a string")
        if not isinstance(query, dict) or not isinstance(query.get("text"), str):
            return _error(400, 'query: expected an object {"text": <string>}')
        if (
            not isinstance(passages, list)
            or not passages
            or not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in passages)
        ):
            return _error(400, 'passages: expected a non-empty list of {"text": <string>}')
        if len(passages) > self.max_passages:
            return _error(
                400, f"passages: at most {self.max_passages} per request, got {len(passages)}"
            )
        truncate = parsed.get("truncate", "NONE")
        if truncate not in ("NONE", "END"):
            return _error(422, f"truncate: expected 'NONE' or 'END', got {truncate!r}")
        query_text: str = query["text"]
        query_tokens = len(query_text.split())
        texts: list[str] = []
        for passage in passages:
            text: str = passage["text"]
            words = text.split()
            if query_tokens + len(words) > self.max_tokens:
                if truncate == "NONE":
                    return _error(
                        400,
                        f"Input length {query_tokens + len(words)} exceeds maximum allowed "
                        f"token size {self.max_tokens}",
                    )
                text = " ".join(words[: max(0, self.max_tokens - query_tokens)])
            texts.append(text)
        words_of_query = _query_words(query_text)
        rankings = [{"index": i, "logit": _logit(words_of_query, t)} for i, t in enumerate(texts)]
        rankings.sort(key=lambda r: -r["logit"])
        return rankings


def main(argv: list[str] | None = None) -> None:
    """Run the fake NIM in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(description="Fake NVIDIA NIM reranking server")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per POST")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of 429/503s")
    parser.add_argument("--api-key", help="require 'Authorization: Bearer <key>'")
    parser.add_argument("--seed", type=int, help="seed for --failure-rate")
    parser.add_argument("--max-passages", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=8192)
    args = parser.parse_args(argv)
    server = FakeNimServer(
        api_key=args.api_key,
        max_passages=args.max_passages,
        max_tokens=args.max_tokens,
        latency=args.latency,
        failure_rate=args.failure_rate,
        seed=args.seed,
        port=args.port,
        record=False,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        print(f"fake NIM listening on {server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()


if __name__ == "__main__":
    main()
