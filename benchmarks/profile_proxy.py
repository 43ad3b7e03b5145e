"""Profile `rerankit serve` under wrk load with py-spy and break its CPU down by layer.

    uv run python benchmarks/profile_proxy.py [--duration 20] [--rate 200] [--top 25]

Starts the fast fake NIM and one `rerankit serve` worker on it, warms it, then samples
the server with `py-spy record --format raw` (pausing it per sample, so that stacks are
whole; `--nonblocking` does not, and tears some) while `wrk -t2 -c32` posts the proxy
scenario's 20-document Cohere body to `/v2/rerank`. Each sample (a Python stack)
is given to one layer: the deepest frame that belongs to a known part decides, after
skipping glue that works for whoever calls it (asyncio, contextlib, pydantic, typing,
logging); any stdlib `json` frame makes it serialisation. The shares times the server's
CPU per request (from /proc over the same window) give milliseconds per request per
layer. `--top` also prints the heaviest frames by self time, for the detail.

Needs wrk (`apt-get install -y wrk`) and py-spy (`pip install py-spy`, or `--py-spy PATH`);
py-spy needs ptrace rights over the server (root, or kernel.yama.ptrace_scope = 0).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scenarios.proxy import MASTER_KEY, _first_answer, _serve, _stop
from benchmarks.upstream import UpstreamProcess, free_port
from benchmarks.workload import MODEL, QUERY, documents
from benchmarks.wrk import ensure_wrk, run_wrk, tree_cpu_seconds

SERVER = "server stack (uvicorn, httptools)"
LOOP = "event loop (asyncio, no owner above)"
AUTH = "auth and routing (keys, route table, model group, deployment pick)"
PARSE = "request parsing (body read, field checks, params)"
CORE = "core's call path (rerankit client, pipeline, provider adapter)"
UPSTREAM = "upstream client (rerankit sender + httpx/aiohttp)"
BUILD = "response building (RerankResponse, proxy answer dict)"
SERIAL = "serialisation (stdlib json; orjson in load_json, dumps)"
OBSERVE = "metrics, tracing, access log"
HANDLER = "proxy dispatch (app._http, endpoints.rerank own lines)"
OTHER = "other"
LAYERS = [SERVER, LOOP, AUTH, PARSE, CORE, UPSTREAM, BUILD, SERIAL, OBSERVE, HANDLER, OTHER]

# Frames that work on behalf of their caller: skipped when looking for the owner.
GLUE = (
    "/asyncio/",
    "/contextlib.py",
    "/pydantic/",
    "/typing.py",
    "/logging/",
    "/abc.py",
    "/enum.py",
    "/functools.py",
    "/dataclasses.py",
    "/weakref.py",
    "/_weakrefset.py",
    "/re/",
    "/copy.py",
    "/uuid.py",
    "<string>",  # dataclass-generated __init__
    "<attrs generated",
    # the process's start-up frames, below everything: never an owner
    "/runpy",
    "/rerankit/cli.py",
    "/rerankit_proxy/plugin.py",
    "/rerankit_proxy/server.py",
    "/uvicorn/main.py",
    "/uvicorn/server.py",
    "/uvicorn/_compat.py",
)
UPSTREAM_LIBS = (
    "/httpx/",
    "/httpcore/",
    "/aiohttp/",
    "/h11/",
    "/anyio/",
    "/httpx_aiohttp/",
    "/yarl/",
    "/multidict/",
    "/aiohappyeyeballs/",
    "/sniffio/",
    "/certifi/",
    "/ssl.py",
)
SERVER_LIBS = ("/uvicorn/", "/httptools/", "/h11_impl", "/uvloop/", "/click/")
PROXY_FUNCS = {
    "auth.py": AUTH,
    "ratelimit.py": AUTH,
    "router.py": AUTH,
    "protocol.py:format_answer": BUILD,
    "protocol.py:_as_object": BUILD,
    # orjson is native code, invisible to py-spy: its time shows in its Python caller.
    "protocol.py:load_json": SERIAL,
    "protocol.py": PARSE,
    "http_guard.py": SERVER,
    "params.py": PARSE,
    "asgi.py:read_body": PARSE,
    "asgi.py:_receive_body": PARSE,
    "asgi.py:has_body": PARSE,
    "asgi.py:header": AUTH,
    "asgi.py:dumps": SERIAL,
    "asgi.py:json_reply": SERIAL,
    "app.py:_authorize": AUTH,
    "app.py:router": AUTH,
    "app.py:read_body": PARSE,
    "metrics.py": OBSERVE,
    "tracing.py": OBSERVE,
}
CORE_UPSTREAM = ("_senders.py", "_transport.py", "_deadline_io.py", "_body.py")
CORE_BUILD = (
    "types.py",
    "_normalize.py",
    "_pipeline.py:finish",
    "_pipeline.py:_validate_response",
    "_pipeline.py:_document",
    "_pipeline.py:_score",
    "_pipeline.py:_new_id",
)

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _parts(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame.strip())
    # py-spy writes paths relative to sys.path ("uvicorn/main.py"): anchor them with "/".
    return (match["func"], "/" + match["file"].lstrip("/")) if match else (frame, "")


def layer(stack: list[str]) -> str:
    """The layer one sample (frames root first) is charged to."""
    frames = [_parts(f) for f in stack]
    return SERIAL if any("/json/" in file for _, file in frames) else owner(frames)


def serial_detail(stack: list[str]) -> str:
    """For a serialisation sample: encode or decode, and on whose behalf."""
    frames = [_parts(f) for f in stack]
    direction = "encode" if any("/json/encoder" in f for _, f in frames) else "decode"
    whose = owner([f for f in frames if "/json/" not in f[1]])
    if whose == SERIAL:  # the proxy's own load_json, or dumps/json_reply
        reading = any(func == "load_json" for func, _ in frames)
        whose = (
            "the caller's body (protocol.load_json)"
            if reading
            else "the proxy's answer (asgi.dumps)"
        )
    return f"json {direction} for: {whose}"


def owner(frames: list[tuple[str, str]]) -> str:
    """The layer of the deepest frame that is not glue."""
    for qualname, file in reversed(frames):
        func = qualname.rsplit(".", 1)[-1]  # py-spy names methods Class.method
        base = file.rsplit("/", 1)[-1]
        if not file or "<frozen" in file or any(g in file for g in GLUE):
            continue
        if "/rerankit_proxy/" in file:
            return PROXY_FUNCS.get(f"{base}:{func}") or PROXY_FUNCS.get(base, HANDLER)
        if "/rerankit/" in file:
            if base in CORE_UPSTREAM:
                return UPSTREAM
            if base in CORE_BUILD or f"{base}:{func}" in CORE_BUILD:
                return BUILD
            return CORE if base != "_observe.py" else OBSERVE
        if "/rerankit_" in file:  # a provider plugin (rerankit_nvidia_nim)
            return CORE
        if any(lib in file for lib in UPSTREAM_LIBS):
            return UPSTREAM
        if any(lib in file for lib in SERVER_LIBS):
            return SERVER
        return OTHER
    return LOOP


def read_raw(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: `frame;frame;... count` per line, root first."""
    samples = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((stack.split(";"), int(count)))
    return samples


def main() -> None:
    """Load, sample, break down and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds sampled under load")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25, help="heaviest self-time frames shown")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument(
        "--nonblocking",
        action="store_true",
        help="sample without pausing the server (cheaper, but stacks can be torn)",
    )
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw samples in this file")
    args = parser.parse_args()
    if not ensure_wrk(install=True):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    body = {"model": "rerank", "query": QUERY, "documents": documents(20)}
    raw_body = json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    with UpstreamProcess() as upstream, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            "model_list:\n  - model_name: rerank\n"
            f"    params: {{model: {MODEL}, api_base: '{upstream.url}'}}\n"
            f"general_settings: {{master_key: {MASTER_KEY}}}\n"
        )
        raw = args.raw or Path(tmp) / "samples.txt"
        port = free_port()
        url = f"http://127.0.0.1:{port}/v2/rerank"
        server = _serve(config, port, 1)
        try:
            _first_answer(url, body, server, timeout=60)
            run_wrk(url, raw_body, auth, duration=3)  # warm
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--format",
                    "raw",
                    *(["--nonblocking"] if args.nonblocking else []),
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.duration + 2),
                    "--output",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(1)  # py-spy attached before the load starts
            load0, cpu0 = os.getloadavg(), tree_cpu_seconds(server.pid)
            m = run_wrk(url, raw_body, auth, duration=args.duration)
            cpu_ms = (tree_cpu_seconds(server.pid) - cpu0) * 1000 / max(1, m["n"])
            _, err = spy.communicate(timeout=args.duration + 60)
            if spy.returncode != 0:
                raise SystemExit(f"py-spy failed: {err.decode(errors='replace')}")
        finally:
            _stop(server)
        samples = read_raw(raw)
    by_layer: Counter[str] = Counter()
    by_self: Counter[str] = Counter()
    by_serial: Counter[str] = Counter()
    for stack, count in samples:
        name = layer(stack)
        by_layer[name] += count
        if name == SERIAL:
            by_serial[serial_detail(stack)] += count
        by_self[stack[-1].strip()] += count
    total = sum(by_layer.values()) or 1
    print(
        f"wrk -t2 -c32 -d{args.duration}s POST /v2/rerank (20 docs) through `rerankit serve` "
        f"(1 worker), sampled by py-spy at {args.rate} Hz"
        f"{' (--nonblocking)' if args.nonblocking else ' (pausing the server per sample)'}"
    )
    print(
        f"{m['rps']:.0f} req/s, p99 {m['p99_ms']:.1f} ms, server CPU {cpu_ms:.3f} ms/request "
        f"(under sampling), {total} samples, load average before {load0[0]:.2f}"
    )
    print()
    print("| layer | share of samples | ms CPU per request |")
    print("|---|---|---|")
    for name in LAYERS:
        share = by_layer[name] / total
        print(f"| {name} | {share:.1%} | {share * cpu_ms:.3f} |")
    print(f"| total | 100% | {cpu_ms:.3f} |")
    print()
    print("Serialisation, split by direction and owner:")
    for detail, count in by_serial.most_common():
        print(f"{count / total:6.1%}  {detail}  ({count / total * cpu_ms:.3f} ms/request)")
    if args.top:
        print()
        print(f"Heaviest frames by self time (top {args.top}):")
        for frame, count in by_self.most_common(args.top):
            print(f"{count / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
