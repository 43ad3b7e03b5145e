"""Metrics shared by the worker processes of one `rerankit serve --workers N`.

Each worker writes its own numbers into a file of its own, memory-mapped, in a private
directory that `serve` creates (mode 0700) and removes when it stops; a scrape, whichever
worker answers it, reads every file and adds them up. Writing is one `struct.pack_into`
into the map per value changed (no lock, no system call); reading happens only at scrape
time.

File layout (native byte order, as only this machine reads it): a 32-byte header, `magic`
(4 bytes), `version` (u32), `used` (u64: bytes in use, header included), `pid` (u64),
`started` (f64: the worker's start, Unix time); then entries, each a u32 key length, the
key (UTF-8 JSON `[name, [[label, value], ...], part]`, `part` being `""`, a histogram
bucket's index or `"sum"`), zero padding to 8 bytes, and the value (f64). An entry is
written in full before `used` grows past it, so a reader never sees half an entry.

A dead worker's file stays: its counters keep counting in the totals, so a worker
restarted by uvicorn never makes a counter go back. Gauges count live workers only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import struct
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "WorkerFile",
    "WorkerValues",
    "Aggregation",
    "read_worker_files",
    "aggregate",
    "is_alive",
    "SUFFIX",
]

logger = logging.getLogger("rerankit.proxy")

#: The worker files' name suffix in the directory.
SUFFIX = ".metrics"
_MAGIC = b"RKPM"
_VERSION = 1
_HEADER = struct.Struct("=4sIQQd")
_USED = struct.Struct("=Q")
_LENGTH = struct.Struct("=I")
_VALUE = struct.Struct("=d")
_INITIAL_SIZE = 64 * 1024
#: A key longer than this is a damaged file (label values come from the configuration).
_MAX_KEY = 64 * 1024
#: A file larger than this is not read (a few thousand series take well under 1 MiB).
_MAX_FILE = 256 * 1024 * 1024

#: A series in a worker file: (metric name, labels, part).
Key = tuple[str, tuple[tuple[str, str], ...], str]
#: How a metric's values of several workers become one: added over every worker that
#: ever ran (counters, histograms), added over live workers (gauges such as memory), the
#: smallest over live workers (a per-process limit), the smallest over every worker (a
#: start time).
Aggregation = Literal["sum", "livesum", "livemin", "min"]


def encode_key(name: str, labels: tuple[tuple[str, str], ...], part: str = "") -> bytes:
    """The key bytes of one series."""
    return json.dumps([name, [list(pair) for pair in labels], part]).encode()


class WorkerFile:
    """This worker's file: `slot(key)` gives an offset once, `write` puts a value there."""

    def __init__(self, directory: str | os.PathLike[str], started: float) -> None:
        self.pid = os.getpid()
        self.path = self._create(Path(directory))
        self._fd = os.open(self.path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        os.ftruncate(self._fd, _INITIAL_SIZE)
        self._size = _INITIAL_SIZE
        self._map = mmap.mmap(self._fd, self._size)
        self._used = _HEADER.size
        self._lock = threading.Lock()  # slots are allocated from the loop and a timer thread
        _HEADER.pack_into(self._map, 0, _MAGIC, _VERSION, self._used, self.pid, started)
        self._pack = _VALUE.pack_into

    def _create(self, directory: Path) -> Path:
        # O_EXCL: never open a file another process made (a pid reused in the same run
        # gets a new name instead); 0600 inside the 0700 directory.
        flags = os.O_CREAT | os.O_EXCL | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0)
        for attempt in range(100):
            path = directory / f"worker-{self.pid}-{attempt}{SUFFIX}"
            try:
                os.close(os.open(path, flags, 0o600))
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"no free metrics file name for pid {self.pid} in {directory}")

    def slot(self, key: bytes) -> int:
        """Add a series (value 0) and return its value's offset."""
        with self._lock:
            padded = (_LENGTH.size + len(key) + 7) // 8 * 8
            needed = self._used + padded + _VALUE.size
            if needed > self._size:
                self._grow(needed)
            start = self._used
            _LENGTH.pack_into(self._map, start, len(key))
            self._map[start + _LENGTH.size : start + _LENGTH.size + len(key)] = key
            offset = start + padded
            _VALUE.pack_into(self._map, offset, 0.0)
            self._used = offset + _VALUE.size
            # Last: a reader trusts entries below `used` only.
            _USED.pack_into(self._map, 8, self._used)
            return offset

    def write(self, offset: int, value: float) -> None:
        """Set the value at `offset` (from `slot`)."""
        self._pack(self._map, offset, value)

    def _grow(self, needed: int) -> None:
        size = self._size
        while size < needed:
            size *= 2
        os.ftruncate(self._fd, size)
        # The map is replaced, not resized: `write` reads `self._map` each time.
        self._map = mmap.mmap(self._fd, size)
        self._size = size

    def close(self) -> None:
        """Unmap and close (the file stays: its counters still count)."""
        with contextlib.suppress(BufferError, ValueError):
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)


@dataclass
class WorkerValues:
    """What one worker file holds."""

    pid: int
    started: float
    values: dict[Key, float] = field(default_factory=dict)


def parse(data: bytes) -> WorkerValues:
    """The series of one worker file's bytes; `ValueError` when it is not one."""
    if len(data) < _HEADER.size:
        raise ValueError("shorter than the header")
    magic, version, used, pid, started = _HEADER.unpack_from(data, 0)
    if magic != _MAGIC or version != _VERSION or not _HEADER.size <= used <= len(data):
        raise ValueError("not a rerankit metrics file")
    found = WorkerValues(pid, started)
    position = _HEADER.size
    while position < used:
        (length,) = _LENGTH.unpack_from(data, position)
        if length > _MAX_KEY:
            raise ValueError(f"a key of {length} bytes")
        padded = (_LENGTH.size + length + 7) // 8 * 8
        end = position + padded + _VALUE.size
        if end > used:
            raise ValueError("an entry past the end")
        raw = data[position + _LENGTH.size : position + _LENGTH.size + length]
        name, labels, part = json.loads(raw)
        key: Key = (str(name), tuple((str(k), str(v)) for k, v in labels), str(part))
        (found.values[key],) = _VALUE.unpack_from(data, position + padded)
        position = end
    return found


def read_worker_files(directory: str | os.PathLike[str]) -> Iterator[WorkerValues]:
    """Every worker file in `directory`; a damaged one is skipped with a warning."""
    with os.scandir(directory) as entries:
        paths = sorted(e.path for e in entries if e.name.endswith(SUFFIX))
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read(_MAX_FILE + 1)
            if len(data) > _MAX_FILE:
                raise ValueError("too large")
            yield parse(data)
        except (OSError, ValueError, TypeError, struct.error) as exc:
            logger.warning("metrics file %s skipped: %s", path, exc)


def is_alive(pid: int) -> bool:
    """Whether process `pid` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's: not ours, but alive
        return True
    return True


def aggregate(
    workers: list[WorkerValues],
    how: Mapping[str, Aggregation],
    alive: set[int],
) -> dict[Key, float]:
    """One value per series from every worker's: by each metric's `how` (default `sum`);
    `alive` holds the pids of the live workers."""
    totals: dict[Key, float] = {}
    for worker in workers:
        live = worker.pid in alive
        for key, value in worker.values.items():
            mode = how.get(key[0], "sum")
            if mode in ("livesum", "livemin") and not live:
                continue
            if key not in totals:
                totals[key] = value
            elif mode in ("min", "livemin"):
                totals[key] = min(totals[key], value)
            else:
                totals[key] += value
    return totals
