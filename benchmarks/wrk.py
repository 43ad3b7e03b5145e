"""wrk, a C HTTP load generator, driven from Python; and CPU time of a process tree.

On a 2-core machine a Python load generator takes CPU from the server under test and
lowers every figure it reports; wrk costs a fraction of that, so the proxy's figures come
from it when it is there. `ensure_wrk(install=True)` installs it from Debian's packages
(`apt-get install -y wrk`) when it is missing; the test suite never installs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

# Prints one machine-readable line after the run: wrk's own summary is for people.
_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %f %f\\n", summary.requests,
    e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def ensure_wrk(install: bool) -> str | None:
    """The path of wrk; when missing and `install`, try `apt-get install -y wrk` first."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 and command[1] == "install":
            return None
    return shutil.which("wrk")


def lua_script(method: str, body: bytes, headers: dict[str, str]) -> str:
    """A wrk script sending `body` with `headers` on every request, plus the result line."""
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body.decode())}"]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    return "\n".join(lines) + "\n" + _DONE


def run_wrk(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    connections: int = 32,
    threads: int = 2,
    duration: float = 10.0,
) -> dict[str, Any]:
    """`wrk -t{threads} -c{connections} -d{duration}s` POSTing `body` to `url`.

    Returns req/s, p50/p99 in ms, the count of answers (`n`), non-2xx/3xx answers
    (`errors`) and socket errors (`socket_errors`).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script("POST", body, headers))
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
        out = subprocess.run(
            [*command, "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
    finally:
        Path(script.name).unlink()
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\S+) (\S+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no result line:\n{out}")
    n, status, sockets, micros = (int(match.group(i)) for i in range(1, 5))
    return {
        "rps": n / (micros / 1e6),
        "p50_ms": float(match.group(5)) / 1000,
        "p99_ms": float(match.group(6)) / 1000,
        "n": n,
        "errors": status,
        "socket_errors": sockets,
    }


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it (Linux /proc)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by `pid` and its live descendants (e.g. workers)."""
    ticks = 0
    for p in descendants(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
