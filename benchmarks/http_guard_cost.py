"""What the proxy's guarded HTTP protocol costs per request, against uvicorn's own.

In process, without sockets: one keep-alive connection per protocol class is fed the
same 20-document rerank request (head and body in one read) and a minimal ASGI app
answers it. Batches of both classes alternate; the best batch of each is the figure
(the least disturbed by other work on the machine).

    uv run python benchmarks/http_guard_cost.py [--batches 300] [--size 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from rerankit_proxy.http_guard import GuardedHttpToolsProtocol


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


class _Transport(asyncio.Transport):
    """Accepts writes and drops them; enough of a socket for the protocol."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = False

    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _request() -> bytes:
    body = json.dumps(
        {"model": "rerank", "query": "memory bandwidth", "documents": ["word " * 100] * 20}
    ).encode()
    head = (
        b"POST /v2/rerank HTTP/1.1\r\nhost: 127.0.0.1:4000\r\n"
        b"authorization: Bearer sk-bench-0123456789abcdef\r\ncontent-type: application/json\r\n"
        b"accept: */*\r\nuser-agent: Python/3.11 aiohttp/3.14\r\n"
        b"content-length: %d\r\n\r\n" % len(body)
    )
    return head + body


def _connection(cls: type[HttpToolsProtocol]) -> HttpToolsProtocol:
    config = Config(app=_app, lifespan="off", log_config=None)
    config.load()
    protocol = cls(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(_Transport())
    return protocol


async def _batch(protocol: HttpToolsProtocol, request: bytes, size: int) -> float:
    start = time.perf_counter()
    for _ in range(size):
        protocol.data_received(request)
        await asyncio.sleep(0)  # the request's task reads the body and answers
        await asyncio.sleep(0)
    return (time.perf_counter() - start) / size * 1e6


async def _main(batches: int, size: int) -> None:
    request = _request()
    connections = {
        "uvicorn HttpToolsProtocol": _connection(HttpToolsProtocol),
        "rerankit GuardedHttpToolsProtocol": _connection(GuardedHttpToolsProtocol),
    }
    best = dict.fromkeys(connections, float("inf"))
    for _ in range(batches):
        for name, protocol in connections.items():
            best[name] = min(best[name], await _batch(protocol, request, size))
    for name, micros in best.items():
        print(f"{name}: {micros:.1f} us per request (best of {batches} batches of {size})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(_main(args.batches, args.size))


if __name__ == "__main__":
    main()
