"""The standard Prometheus process metrics of this process, read when asked.

`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,
`process_max_fds` and `process_start_time_seconds`, with the names and meanings
prometheus_client's process collector gives them. Memory and descriptors come from
`/proc` (Linux); elsewhere only CPU time (from `getrusage`) and the start time (when this
module was imported) are known, and the others are left out.
"""

from __future__ import annotations

import os
import time
from typing import Literal

__all__ = ["PROCESS_METRICS", "sample", "started"]

#: name -> (type, help, how the workers' values become the server's; see metrics_files).
PROCESS_METRICS: dict[
    str, tuple[Literal["counter", "gauge"], str, Literal["sum", "livesum", "livemin", "min"]]
] = {
    "process_cpu_seconds_total": (
        "counter",
        "User and system CPU time spent in seconds (every worker that ran, added).",
        "sum",
    ),
    "process_resident_memory_bytes": (
        "gauge",
        "Resident memory size in bytes (live workers, added).",
        "livesum",
    ),
    "process_open_fds": ("gauge", "Open file descriptors (live workers, added).", "livesum"),
    "process_max_fds": (
        "gauge",
        "Maximum open file descriptors of one process (the lowest of the live workers).",
        "livemin",
    ),
    "process_start_time_seconds": (
        "gauge",
        "Start time of the process since the Unix epoch in seconds (the earliest worker).",
        "min",
    ),
}

_IMPORTED = time.time()
_PAGE = os.sysconf("SC_PAGESIZE") if hasattr(os, "sysconf") else 4096


def started() -> float:
    """When this process started (Unix time): from `/proc` where there is one."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read().split(b")")[-1].split()
        with open("/proc/stat", "rb") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith(b"btime"))
        ticks = os.sysconf("SC_CLK_TCK")
        return boot + float(stat[19]) / ticks  # field 22, counted after "(comm)"
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return _IMPORTED


_STARTED = started()


def sample() -> dict[str, float]:
    """This process's values now, by metric name (those this system tells)."""
    times = os.times()
    values = {
        "process_cpu_seconds_total": times.user + times.system,
        "process_start_time_seconds": _STARTED,
    }
    try:
        with open("/proc/self/statm", "rb") as f:
            values["process_resident_memory_bytes"] = float(int(f.read().split()[1]) * _PAGE)
        values["process_open_fds"] = float(len(os.listdir("/proc/self/fd")))
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            values["process_max_fds"] = float(soft)
    except (ImportError, OSError, ValueError):
        pass
    return values
