"""Scenario 1: import cost in fresh processes, against `import httpx`.

Each case runs in a new interpreter and times its own imports with `perf_counter`
(interpreter start-up, equal for all, is left out); the figure is the median.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from benchmarks.report import Result
from benchmarks.workload import MODEL, ratio

FLOOR = "import httpx (floor)"
CASES = {
    FLOOR: "import httpx",
    "import rerankit": "import rerankit",
    "import rerankit + resolve a provider": (
        "import rerankit\n"
        "from rerankit.registry import default_registry\n"
        f"default_registry().resolve({MODEL!r})"
    ),
    "import rerankit + Client()": "import rerankit\nrerankit.Client()",
}


def time_in_fresh_process(code: str, python: str = sys.executable) -> float:
    """Seconds `code` takes in a new interpreter, timed from inside it."""
    wrapped = (
        "import time\n_t = time.perf_counter()\n" + code + "\nprint(time.perf_counter() - _t)\n"
    )
    out = subprocess.run([python, "-c", wrapped], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> Result:
    """Median of several fresh processes per case, cases interleaved."""
    repeats = 3 if quick else 15
    samples: dict[str, list[float]] = {label: [] for label in CASES}
    for _ in range(repeats):
        for label, code in CASES.items():
            samples[label].append(time_in_fresh_process(code))
    data = {
        label: {"median_ms": statistics.median(s) * 1000, "samples_ms": [x * 1000 for x in s]}
        for label, s in samples.items()
    }
    floor = data[FLOOR]["median_ms"]
    rows = []
    for label, m in data.items():
        m["x_floor"] = ratio(m["median_ms"], floor)
        rows.append([label, m["median_ms"], m["x_floor"]])
    return Result(
        scenario="import",
        title=f"1. Import (median of {repeats} fresh processes)",
        columns=["case", "median ms", "x import httpx"],
        rows=rows,
        data=data,
        notes=["Timed inside each process: interpreter start-up is left out of every case."],
    )
