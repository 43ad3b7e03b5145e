"""What the HTTP server stack alone costs per request under wrk: the floor a proxy sits on.

    uv run python benchmarks/server_stack_cost.py [--duration 5] [--rounds 2]

Serves one fixed 20-result JSON answer, with no work behind it, three ways, each in its
own process on 127.0.0.1, and loads each with wrk (`-t2 -c32`, the proxy scenario's
20-document body): uvicorn with the proxy's guarded httptools protocol (`http_guard`),
uvicorn with its own httptools protocol, and a bare asyncio protocol on httptools that
answers the same bytes (no ASGI, no limits: the least any Python server on uvloop does).
Prints req/s and the server's CPU per request (from /proc), per round. The difference
between the first two and the last is what uvicorn's per-request machinery costs; see
docs/benchmarks.md ("Third round: where the targets stand").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.upstream import free_port
from benchmarks.workload import MODEL, QUERY, documents
from benchmarks.wrk import ensure_wrk, run_wrk, tree_cpu_seconds

ANSWER = json.dumps(
    {
        "id": "x",
        "results": [{"index": i, "relevance_score": 0.5} for i in range(20)],
        "meta": {},
    }
).encode()
KINDS = ("uvicorn + http_guard", "uvicorn httptools", "bare httptools protocol")


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app answering `ANSWER` to every request (and the lifespan protocol)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


def _serve_bare(port: int) -> None:
    import httptools
    import uvloop

    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    reply = head % len(ANSWER) + ANSWER

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            # A task per request, as an ASGI server makes one: the same loop hop.
            asyncio.get_running_loop().create_task(self.answer())

        async def answer(self) -> None:
            self.transport.write(reply)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Protocol, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


def serve(kind: str, port: int) -> None:
    """Run server `kind` on `port` until killed (the child process's entry point)."""
    if kind == KINDS[2]:
        _serve_bare(port)
        return
    import uvicorn

    options: dict[str, Any] = {"http": "httptools"}
    if kind == KINDS[0]:
        from rerankit_proxy import http_guard
        from rerankit_proxy.server_settings import ServerSettings

        http_guard.configure(ServerSettings())
        options["http"] = http_guard.GuardedHttpToolsProtocol
    uvicorn.run(
        _app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        ws="none",
        **options,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    if ensure_wrk(install=False) is None:
        sys.exit("needs wrk: apt-get install -y wrk")
    body = json.dumps({"model": MODEL, "query": QUERY, "documents": documents(20)}).encode()
    for kind in KINDS:
        port = free_port()
        command = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
        server = subprocess.Popen(command)
        try:
            time.sleep(1.5)  # started and listening
            url = f"http://127.0.0.1:{port}/"
            run_wrk(url, body, {"content-type": "application/json"}, duration=1)  # warm
            for _ in range(args.rounds):
                cpu = tree_cpu_seconds(server.pid)
                m = run_wrk(url, body, {"content-type": "application/json"}, duration=args.duration)
                per_request = (tree_cpu_seconds(server.pid) - cpu) * 1e6 / max(1, m["n"])
                print(f"{kind:26} {m['rps']:9,.0f} req/s  {per_request:5.1f} µs CPU per request")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
