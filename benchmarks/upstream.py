"""A fast fake NIM rerank server for benchmarks, run in its own process.

It speaks NIM's wire format on both routes (`POST /v1/ranking` and
`POST /v1/retrieval/<org>/<model>/reranking`): `{"model", "query": {"text"},
"passages": [{"text"}]}` -> `{"rankings": [{"index", "logit"}]}` sorted best first.
Scores are deterministic (a CRC of query and passage), so every client under test gets
the same answer. More than 512 passages is a 400, as NIM answers.

Options: `--latency SECONDS` delays every answer (without blocking other requests),
`--failure-rate P` answers a seeded share of requests with a 503, `--api-key KEY`
requires `Authorization: Bearer KEY`.

It is a raw asyncio protocol (no framework) so that the server costs less per request
than the fastest client measured against it: the clients, not the upstream, must be the
bottleneck. `python -m benchmarks.upstream --port 0` prints `READY <port>` when it listens.
`UpstreamProcess` starts and stops one from Python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Self

MAX_PASSAGES = 512
ROOT = Path(__file__).resolve().parent.parent


def score(query: str, passage: str) -> float:
    """A deterministic logit in [-10, 10) for `passage` against `query`."""
    return zlib.crc32(passage.encode(), zlib.crc32(query.encode())) % 20000 / 1000 - 10.0


def rank(body: Any) -> tuple[int, bytes]:
    """Status and JSON answer for one NIM request body."""
    try:
        query = body["query"]["text"]
        passages = [p["text"] for p in body["passages"]]
    except (KeyError, TypeError):
        return 422, b'{"detail":"expected {model, query: {text}, passages: [{text}]}"}'
    if len(passages) > MAX_PASSAGES:
        return 400, b'{"detail":"at most 512 passages per request"}'
    seed = zlib.crc32(query.encode())
    scored = sorted(
        ((zlib.crc32(p.encode(), seed) % 20000 / 1000 - 10.0, i) for i, p in enumerate(passages)),
        key=lambda pair: (-pair[0], pair[1]),
    )
    rankings = ",".join(f'{{"index":{i},"logit":{s!r}}}' for s, i in scored)
    return 200, f'{{"rankings":[{rankings}]}}'.encode()


class NimProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, Content-Length bodies, pipelining-safe."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.respond(head[0], headers, body)

    def respond(self, request_line: str, headers: dict[str, str], body: bytes) -> None:
        config = self.config
        method, _, rest = request_line.partition(" ")
        path = rest.partition(" ")[0]
        if method != "POST" or not (path == "/v1/ranking" or path.endswith("/reranking")):
            status, payload = 404, b'{"detail":"Not Found"}'
        elif config.api_key is not None and headers.get("authorization") != config.bearer:
            status, payload = 401, b'{"detail":"invalid api key"}'
        elif config.failure_rate and config.random.random() < config.failure_rate:
            status, payload = 503, b'{"detail":"simulated failure"}'
        else:
            try:
                status, payload = rank(json.loads(body))
            except ValueError:
                status, payload = 400, b'{"detail":"body is not JSON"}'
        reason = _REASONS.get(status, "Error")
        answer = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        if config.latency > 0:
            asyncio.get_running_loop().call_later(config.latency, self.write, answer)
        else:
            self.write(answer)

    def write(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
_REASONS |= {422: "Unprocessable Entity", 503: "Service Unavailable"}


class ServerConfig:
    """What the server does besides ranking: latency, failures, key."""

    def __init__(self, latency: float, failure_rate: float, api_key: str | None) -> None:
        self.latency = latency
        self.failure_rate = failure_rate
        self.api_key = api_key
        self.bearer = f"Bearer {api_key}"
        self.random = random.Random(0)


async def serve(port: int, config: ServerConfig) -> None:
    """Listen on 127.0.0.1:`port` (0: any free port) and print `READY <port>`."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: NimProtocol(config), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Run the server until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    config = ServerConfig(args.latency, args.failure_rate, args.api_key)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.run(serve(args.port, config))
    except ImportError:
        asyncio.run(serve(args.port, config))


class UpstreamProcess:
    """The fake NIM in a child process: `with UpstreamProcess() as up: up.url`.

    `command` runs another server instead (it must take `--port`); readiness is then
    detected by connecting.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        api_key: str | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.args = ["--latency", str(latency), "--failure-rate", str(failure_rate)]
        if api_key is not None:
            self.args += ["--api-key", api_key]
        self.command = command
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if self.command is None:
            cmd = [sys.executable, "-m", "benchmarks.upstream", "--port", "0", *self.args]
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
            )
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            if not line.startswith("READY "):
                self.__exit__(None, None, None)
                raise RuntimeError(f"upstream did not start: {line!r}")
            self.port = int(line.split()[1])
        else:
            self.port = free_port()
            cmd = [*self.command, "--port", str(self.port)]
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
            wait_for_port(self.port, self.process)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 30.0) -> float:
    """Seconds until 127.0.0.1:`port` accepts a connection; raises if `process` dies."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


if __name__ == "__main__":
    main()
