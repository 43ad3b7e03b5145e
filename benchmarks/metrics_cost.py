"""What the proxy's metrics cost per answered request, in one process and with workers.

One answered request updates: the request counter and latency histogram
(`record_request`), one upstream attempt's counter and histogram (`record_attempt`) and
the deployment's in-flight gauge twice. This times that set of updates on a `Metrics`
kept in dicts (`--workers 1`) and on one that also writes its worker file (`share`, as
with `--workers N`), in alternating batches; the best batch of each is the figure (the
least disturbed by other work on the machine). `--module` also times another copy of
`metrics.py` (e.g. an older one, from `git show <commit>:<path>`) in the same batches.

    uv run python benchmarks/metrics_cost.py [--batches 200] [--size 2000] [--module FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from typing import Any

from rerankit_proxy import metrics as current


def _load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("rerankit_proxy._metrics_other", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "rerankit_proxy"  # its relative imports resolve in the package
    spec.loader.exec_module(module)
    return module


def _batch(m: Any, size: int) -> float:
    labels = (("deployment", "nim-1"),)
    started = time.perf_counter()
    for i in range(size):
        seconds = 0.0005 * (i % 40)
        m.in_flight.set(labels, 1)
        m.record_attempt("nvidia-rerank", "nim-1", "ok", seconds)
        m.in_flight.set(labels, 0)
        m.record_request("v2_rerank", "nvidia-rerank", 200, seconds, None)
    return (time.perf_counter() - started) / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--module", help="also time this metrics.py (one process)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        shared = current.Metrics()
        shared.share(directory)
        cases = {"one process": current.Metrics(), "workers (shared file)": shared}
        if args.module:
            cases[f"one process, {args.module}"] = _load(args.module).Metrics()
        best = dict.fromkeys(cases, float("inf"))
        for _ in range(args.batches):
            for name, m in cases.items():
                best[name] = min(best[name], _batch(m, args.size))
        shared.close()
    for name, seconds in best.items():
        print(f"{name:40s} {seconds * 1e6:6.2f} µs per request's metric updates")


if __name__ == "__main__":
    main()
