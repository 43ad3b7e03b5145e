"""The SQLite backend: WAL, expiry on the wall clock, purge, threads and processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from rerankit.errors import ConfigurationError
from rerankit_cache import CacheBackend, SQLiteBackend
from rerankit_cache.backends.sqlite import PURGE_EVERY


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cache.db"


def test_is_a_cache_backend(path):
    backend = SQLiteBackend(path)
    assert isinstance(backend, CacheBackend)
    backend.close()


def test_values_survive_a_new_connection(path):
    backend = SQLiteBackend(path)
    backend.set("k", b"\x00binary\xff", None)
    backend.close()
    again = SQLiteBackend(path)
    assert again.get("k") == b"\x00binary\xff"
    assert again.get("absent") is None
    again.close()


def test_the_file_is_in_wal_mode(path):
    SQLiteBackend(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_entries_expire_on_the_injected_clock(path, clock):
    backend = SQLiteBackend(path, clock=clock)
    backend.set("short", b"1", 5)
    backend.set("forever", b"2", None)
    clock.advance(4.9)
    assert backend.get("short") == b"1"
    clock.advance(0.1)
    assert backend.get("short") is None
    backend.purge()
    assert len(backend) == 1
    assert backend.get("forever") == b"2"
    backend.close()


def test_writes_purge_expired_rows_and_the_oldest_beyond_max_entries(path, clock):
    backend = SQLiteBackend(path, max_entries=10, clock=clock)
    backend.set("old", b"x", 1)
    clock.advance(2)
    for n in range(PURGE_EVERY - 1):
        backend.set(f"k{n}", b"v", None)
    assert len(backend) == 10  # the 64th write purged
    assert backend.get("old") is None
    assert backend.get(f"k{PURGE_EVERY - 2}") == b"v"  # the newest stay
    assert backend.get("k0") is None
    backend.close()


def test_threads_share_one_backend(path):
    backend = SQLiteBackend(path)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(100):
                backend.set(f"{worker}-{n}", str(n).encode(), None)
                assert backend.get(f"{worker}-{n}") == str(n).encode()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(backend) == 400
    backend.close()


WRITER = """
import sys
from rerankit_cache import SQLiteBackend
backend = SQLiteBackend(sys.argv[1], timeout=5)
for n in range(200):
    backend.set(f"{sys.argv[2]}-{n}", b"v" * 100, None)
print(backend.get(f"{sys.argv[2]}-199") == b"v" * 100)
backend.close()
"""


def test_processes_share_one_file(path):
    SQLiteBackend(path).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], stdout=subprocess.PIPE)
        for name in ("a", "b", "c")
    ]
    outputs = [w.communicate(timeout=60)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0]
    assert outputs == [b"True\n"] * 3
    backend = SQLiteBackend(path)
    assert len(backend) == 600
    assert backend.get("b-17") == b"v" * 100
    backend.close()


def test_a_path_that_cannot_be_opened_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot open the SQLite cache"):
        SQLiteBackend(tmp_path / "no-such-folder" / "cache.db")
