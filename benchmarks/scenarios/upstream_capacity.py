"""Scenario 0: is the upstream fast enough? Both fake NIMs under the fastest client.

The fastest client measured (a bare aiohttp session) loads each fake NIM, each in its
own process: the suite's `benchmarks/upstream.py` and the test suite's
`tests/fakes/nim_server.py`. The server's CPU time per request must stay well below the
client's, or the upstream, not the client under test, sets the figures.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.clients import bare_aiohttp
from benchmarks.report import Result
from benchmarks.scenarios.async_throughput import _load
from benchmarks.upstream import ROOT, UpstreamProcess
from benchmarks.workload import documents

SERVERS = {
    "benchmarks/upstream.py": None,
    "tests/fakes/nim_server.py": [sys.executable, "-m", "tests.fakes.nim_server"],
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(quick: bool) -> Result:
    """Requests/s of bare aiohttp at 16 and 64, and CPU ms per request on each side."""
    docs = documents(20)
    calls = 40 if quick else 3000
    result = Result(
        scenario="upstream",
        title="0. Upstream capacity (bare aiohttp against each fake NIM)",
        columns=["server", "concurrency", "req/s", "server CPU ms/req", "client CPU ms/req"],
    )
    if not (ROOT / "tests" / "fakes" / "nim_server.py").exists():
        SERVERS.pop("tests/fakes/nim_server.py")
    for name, command in SERVERS.items():
        with UpstreamProcess(command=command) as upstream:
            assert upstream.process is not None
            pid = upstream.process.pid
            for c in (16,) if quick else (16, 64):
                server0, client0 = cpu_seconds(pid), time.process_time()
                m: dict[str, Any] = asyncio.run(_load(bare_aiohttp, upstream.url, docs, c, calls))
                server = (cpu_seconds(pid) - server0) * 1000 / (m["n"] + min(c, 100))
                client = (time.process_time() - client0) * 1000 / (m["n"] + min(c, 100))
                result.data[f"{name}/{c}"] = {**m, "server_cpu_ms": server, "client_cpu_ms": client}
                result.rows.append([name, c, m["rps"], server, client])
    result.notes.append(
        "CPU per request includes the warm-up calls; /proc counts in clock ticks (10 ms), "
        "so short runs are coarse."
    )
    return result
