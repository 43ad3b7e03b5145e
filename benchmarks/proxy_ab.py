"""A/B the proxy's own code: two copies of `rerankit_proxy` under the same wrk load.

    cp -r plugins/proxy/src /tmp/before      # before a change
    ...edit...
    uv run python benchmarks/proxy_ab.py --a /tmp/before --b plugins/proxy/src

Starts the fast fake NIM and one `rerankit serve` per copy (each with its copy first on
PYTHONPATH, so it shadows the installed package), warms both, then runs `--rounds`
alternating wrk rounds (`-t2 -c32`, the proxy scenario's 20-document Cohere body on
`/v2/rerank`) and prints, per copy, the median req/s, p50, p99 and server CPU ms per
request (the process tree's, from /proc). CPU per request is the figure to compare on a
shared machine: it moves least with the load of everything else; alternating rounds
spread what drift there is over both copies alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scenarios.proxy import MASTER_KEY, _first_answer, _stop
from benchmarks.upstream import ROOT, UpstreamProcess, free_port
from benchmarks.workload import MODEL, QUERY, documents
from benchmarks.wrk import run_wrk, tree_cpu_seconds


def serve(config: Path, port: int, workers: int, source: str) -> subprocess.Popen[bytes]:
    """`rerankit serve` with `source` (a folder holding `rerankit_proxy`) first on the path."""
    command = [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(config)]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    path = os.pathsep.join(p for p in (source, str(ROOT)) if p)
    env = {**os.environ, "RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy", "PYTHONPATH": path}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def measure(url: str, body: bytes, pid: int, duration: float) -> dict[str, Any]:
    """One wrk round against `url`, with the CPU `pid`'s tree used meanwhile."""
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    cpu0 = tree_cpu_seconds(pid)
    m = run_wrk(url, body, auth, connections=32, threads=2, duration=duration)
    m["cpu_ms_per_request"] = (tree_cpu_seconds(pid) - cpu0) * 1000 / max(1, m["n"])
    return m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", default="", help="folder holding rerankit_proxy ('' = installed)")
    parser.add_argument("--b", default="", help="folder holding rerankit_proxy ('' = installed)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    docs = documents(20)
    body = json.dumps({"model": "rerank", "query": QUERY, "documents": docs}).encode()
    with UpstreamProcess() as upstream, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            "model_list:\n"
            "  - model_name: rerank\n"
            f"    params: {{model: {MODEL}, api_base: '{upstream.url}'}}\n"
            f"general_settings: {{master_key: {MASTER_KEY}}}\n"
        )
        servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
        try:
            for name, source in (("a", args.a), ("b", args.b)):
                port = free_port()
                process = serve(config, port, args.workers, source)
                url = f"http://127.0.0.1:{port}/v2/rerank"
                servers[name] = (url, process)
                _first_answer(url, json.loads(body), process, timeout=60)
            for url, process in servers.values():  # warm
                measure(url, body, process.pid, 2)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
            for i in range(args.rounds):
                order = list(servers) if i % 2 == 0 else list(reversed(servers))
                for name in order:
                    url, process = servers[name]
                    runs[name].append(measure(url, body, process.pid, args.duration))
        finally:
            for _, process in servers.values():
                _stop(process)
    print(f"load average: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'copy':<6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}  rounds (CPU)")
    for name, rounds in runs.items():
        med = {
            k: statistics.median(r[k] for r in rounds)
            for k in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request")
        }
        each = " ".join(f"{r['cpu_ms_per_request']:.3f}" for r in rounds)
        errors = sum(r["errors"] + r["socket_errors"] for r in rounds)
        print(
            f"{name:<6}{med['rps']:>9.0f}{med['p50_ms']:>9.1f}{med['p99_ms']:>9.1f}"
            f"{med['cpu_ms_per_request']:>12.3f}  {each}" + (f"  errors={errors}" if errors else "")
        )


if __name__ == "__main__":
    main()
