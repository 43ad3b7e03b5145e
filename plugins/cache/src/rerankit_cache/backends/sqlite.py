"""A SQLite file: shared by the threads and processes of one machine, kept across restarts."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rerankit.errors import ConfigurationError

__all__ = ["SQLiteBackend", "DEFAULT_TIMEOUT", "PURGE_EVERY"]

#: Seconds a read or write waits for another writer's lock before it counts as a failure.
DEFAULT_TIMEOUT = 0.05
#: Expired rows (and rows beyond `max_entries`) are deleted once every this many writes.
PURGE_EVERY = 64
#: Seconds opening the file may wait (creating the table and switching to WAL are writes).
_OPEN_TIMEOUT = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rerankit_cache (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at REAL
)
"""


class SQLiteBackend:
    """Entries in a SQLite database file, in WAL mode.

    WAL lets readers go on while one process writes, so several workers (threads or
    processes) can share one file. Expiry is on the wall clock (`clock`, injectable),
    shared by every process; expired rows read as absent and are deleted every
    `PURGE_EVERY` writes, together with the oldest rows beyond `max_entries` when it is
    set. `timeout` bounds how long a call waits for another writer's lock.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_entries: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_entries = max_entries
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._writes = 0
        self.description = f"sqlite ({self.path})"
        try:
            # One connection shared under a lock: sqlite3 objects are not thread-safe, and
            # a statement here takes microseconds, so threads rarely wait.
            self._db = sqlite3.connect(
                self.path, timeout=_OPEN_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable enough for a cache
            self._db.execute(_SCHEMA)
            self._db.execute(f"PRAGMA busy_timeout={max(1, round(timeout * 1000))}")
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"rerankit-cache cannot open the SQLite cache at {str(self.path)!r} ({exc}). "
                f"Check that its folder exists and is writable, or choose another path."
            ) from None

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM rerankit_cache").fetchone()
        return int(row[0])

    def get(self, key: str) -> bytes | None:
        """The value under `key`, or None when absent or expired."""
        with self._lock:
            row = self._db.execute(
                "SELECT value, expires_at FROM rerankit_cache WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        value, expires = row
        if expires is not None and self._clock() >= expires:
            return None
        return bytes(value)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """Store `value` (replacing an older one); now and then delete expired rows."""
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO rerankit_cache (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, expires),
            )
            self._writes += 1
            if self._writes % PURGE_EVERY == 0:
                self._purge()

    def purge(self) -> None:
        """Delete expired rows, and the oldest beyond `max_entries`."""
        with self._lock:
            self._purge()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def _purge(self) -> None:
        self._db.execute(
            "DELETE FROM rerankit_cache WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (self._clock(),),
        )
        if self.max_entries is not None:
            # INSERT OR REPLACE gives a row a new rowid, so rowid order is write order.
            self._db.execute(
                "DELETE FROM rerankit_cache WHERE rowid NOT IN "
                "(SELECT rowid FROM rerankit_cache ORDER BY rowid DESC LIMIT ?)",
                (self.max_entries,),
            )
