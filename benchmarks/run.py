"""Run rerankit's benchmark suite: `uv run python benchmarks/run.py [options]`.

Scenarios: upstream, import, sync, async, large, proxy, peers, onnx, bm25 (default: all;
`--scenario` picks).
Prints a table per scenario and the targets; `--json FILE` writes every figure,
`--write-docs` rewrites the generated section of docs/benchmarks.md, `--quick` is a
seconds-long smoke run (numbers meaningless), `--install-peers` creates
benchmarks/.peers-venv with the peer gateway (litellm) so that the peers scenario runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.report import Result  # noqa: E402
from benchmarks.scenarios import (  # noqa: E402
    async_throughput,
    bm25_peers,
    imports,
    large_sets,
    onnx_inference,
    peers,
    proxy,
    sync_call,
    upstream_capacity,
)

SCENARIOS: dict[str, Callable[[argparse.Namespace], Result]] = {
    "upstream": lambda a: upstream_capacity.run(a.quick),
    "import": lambda a: imports.run(a.quick),
    "sync": lambda a: sync_call.run(a.quick),
    "async": lambda a: async_throughput.run(a.quick),
    "large": lambda a: large_sets.run(a.quick),
    "proxy": lambda a: proxy.run(a.quick, load=a.load),
    "peers": lambda a: peers.run(a.quick, install=a.install_peers, load=a.load),
    "onnx": lambda a: onnx_inference.run(a.quick),
    "bm25": lambda a: bm25_peers.run(a.quick),
}
DOCS = ROOT / "docs" / "benchmarks.md"
QUICK_NOTE = ", quick mode: numbers meaningless"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    versions = {}
    for dist in ("rerankit", "httpx", "httpcore", "aiohttp", "httpx-aiohttp", "httpx2", "pydantic"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def evaluate_targets(results: dict[str, Result]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured ratio and whether it is met."""

    def get(scenario: str, *path: str) -> float | None:
        result = results.get(scenario)
        if result is None or result.skipped:
            return None
        value: Any = result.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def target(figure: str, goal: str, measured: float | None, ok: Callable[[float], bool]) -> dict:
        return {
            "figure": figure,
            "target": goal,
            "measured": measured,
            "met": None if measured is None else ok(measured),
        }

    resolve = get("import", "import rerankit + resolve a provider", "x_floor")
    sync_mean = get("sync", sync_call.SUBJECT, "x_floor_mean")
    at16 = "16"
    arerank = get("async", at16, "rerankit.arerank", "x_httpx")
    arerank_aio = get("async", at16, "rerankit.arerank", "x_aiohttp")
    # The same calls on the library the floor uses (rerankit's overhead over its transport).
    sync_on_httpx = get("sync", sync_call.ON_HTTPX, "x_floor_mean")
    on_aiohttp = get("async", at16, "rerankit.AsyncClient on aiohttp", "x_aiohttp")
    return [
        target("import rerankit + resolve, x import httpx", "<= 1.5", resolve, lambda x: x <= 1.5),
        target("sync per-call mean, x bare httpx", "<= 1.10", sync_mean, lambda x: x <= 1.10),
        target("async req/s at 16, x bare httpx.AsyncClient", ">= 3", arerank, lambda x: x >= 3),
        target("async req/s at 16, x bare aiohttp", ">= 0.8", arerank_aio, lambda x: x >= 0.8),
        target(
            "same, rerankit on httpx: sync per-call mean, x bare httpx",
            "<= 1.10",
            sync_on_httpx,
            lambda x: x <= 1.10,
        ),
        target(
            "same, rerankit on aiohttp: async req/s at 16, x bare aiohttp",
            ">= 0.8",
            on_aiohttp,
            lambda x: x >= 0.8,
        ),
        target(
            "proxy req/s at 32, x upstream direct",
            ">= 0.30",
            get("proxy", "x_direct"),
            lambda x: x >= 0.30,
        ),
        target("proxy p99 ms at 32", "<= 30", get("proxy", "p99_ms"), lambda x: x <= 30),
        target(
            "proxy CPU ms per request",
            "<= 0.35",
            get("proxy", "cpu_ms_per_request"),
            lambda x: x <= 0.35,
        ),
        target(
            "proxy req/s, --workers 2 x 1 worker",
            ">= 1.7",
            get("proxy", "workers2_x_workers1"),
            lambda x: x >= 1.7,
        ),
        target("proxy startup s", "< 1", get("proxy", "startup_s"), lambda x: x < 1),
        target("proxy idle RSS MiB", "< 60", get("proxy", "rss_idle_mib"), lambda x: x < 60),
        target(
            "proxy req/s, x litellm proxy",
            ">= 30",
            _proxy_vs_peer(results, "rps"),
            lambda x: x >= 30,
        ),
        target(
            "proxy p99, x litellm proxy p99",
            "<= 0.05",
            _proxy_vs_peer(results, "p99_ms"),
            lambda x: x <= 0.05,
        ),
        target(
            "onnx docs/s, worst batch size and threads, x tokenizers+onnxruntime",
            ">= 0.91",
            get("onnx", "worst_x_floor"),
            lambda x: x >= 0.91,
        ),
    ]


def _proxy_vs_peer(results: dict[str, Result], figure: str) -> float | None:
    ours, theirs = results.get("proxy"), results.get("peers")
    if not ours or not theirs or ours.skipped or theirs.skipped:
        return None
    peer = theirs.data.get("proxy", {}).get(figure)
    mine = ours.data.get("proxy", {}).get(figure)
    return mine / peer if mine and peer else None


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios; print tables; write JSON and docs when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run for CI")
    parser.add_argument(
        "--scenario", action="append", choices=list(SCENARIOS), help="run only these"
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--write-docs", action="store_true", help="regenerate docs/benchmarks.md")
    parser.add_argument(
        "--install-peers", action="store_true", help="install litellm into benchmarks/.peers-venv"
    )
    parser.add_argument(
        "--load",
        choices=["auto", "wrk", "aiohttp"],
        default="auto",
        help="proxy scenario's load generator (auto: wrk, installed via apt-get if missing, "
        "except in quick mode; aiohttp when wrk is unavailable)",
    )
    args = parser.parse_args(argv)
    chosen = args.scenario or list(SCENARIOS)
    started = time.time()
    results: dict[str, Result] = {}
    for name in chosen:
        print(f"== {name}", file=sys.stderr, flush=True)
        results[name] = SCENARIOS[name](args)
        print(report.markdown(results[name]), flush=True)
    targets = evaluate_targets(results)
    print(report.targets_markdown(targets), flush=True)
    command = "uv run python benchmarks/run.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    payload = {
        "command": command.strip(),
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "scenarios": {name: r.as_json() for name, r in results.items()},
        "targets": targets,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    if args.write_docs:
        report.write_docs(DOCS, docs_section(payload, results, targets))
    return 0


def docs_section(payload: dict[str, Any], results: dict[str, Result], targets: list) -> str:
    """The generated part of docs/benchmarks.md."""
    m = payload["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    parts = [
        f"Measured {payload['started']} with `{payload['command']}` "
        f"({payload['seconds']} s{QUICK_NOTE if payload['quick'] else ''}).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}.",
        f"Versions: {versions}.",
        "",
        report.targets_markdown(targets),
    ]
    parts.extend(report.markdown(r) for r in results.values())
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
