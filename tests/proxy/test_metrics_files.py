"""Worker metrics files and how a scrape adds them up (`metrics_files`, `Metrics.share`)."""

from __future__ import annotations

import logging
import os
import re

from rerankit_proxy.metrics import LATENCY_BUCKETS, Metrics
from rerankit_proxy.metrics_files import (
    WorkerFile,
    WorkerValues,
    aggregate,
    encode_key,
    read_worker_files,
)

HOW = {"gauge_live": "livesum", "limit": "livemin", "start": "min"}


def worker(pid: int, **values: float) -> WorkerValues:
    return WorkerValues(pid, 0.0, {(name, (("a", "1"),), ""): v for name, v in values.items()})


def test_a_worker_file_holds_what_was_written_and_grows(tmp_path):
    file = WorkerFile(tmp_path, started=123.5)
    first = file.slot(encode_key("c_total", (("model", 'a"b\\c'),)))
    file.write(first, 3.0)
    # More series than the first 64 KiB hold: the file grows, earlier offsets stay valid.
    offsets = [file.slot(encode_key("many", (("i", str(i)),))) for i in range(3000)]
    for i, offset in enumerate(offsets):
        file.write(offset, float(i))
    file.write(first, 4.0)
    (found,) = read_worker_files(tmp_path)
    assert (found.pid, found.started) == (os.getpid(), 123.5)
    assert found.values[("c_total", (("model", 'a"b\\c'),), "")] == 4.0
    assert found.values[("many", (("i", "2999"),), "")] == 2999.0
    assert len(found.values) == 3001
    assert oct(os.stat(file.path).st_mode & 0o777) == oct(0o600)
    file.close()


def test_two_files_of_one_pid_get_two_names(tmp_path):
    a, b = WorkerFile(tmp_path, 0.0), WorkerFile(tmp_path, 0.0)
    assert a.path != b.path
    assert len(list(read_worker_files(tmp_path))) == 2


def test_a_damaged_file_is_skipped_with_a_warning(tmp_path, caplog):
    good = WorkerFile(tmp_path, 0.0)
    good.write(good.slot(encode_key("x", ())), 1.0)
    (tmp_path / "worker-1-0.metrics").write_bytes(b"RKPM" + b"\xff" * 60)
    (tmp_path / "worker-2-0.metrics").write_bytes(b"nothing")
    with caplog.at_level(logging.WARNING, logger="rerankit.proxy"):
        found = list(read_worker_files(tmp_path))
    assert [w.values for w in found] == [{("x", (), ""): 1.0}]
    assert "worker-1-0.metrics skipped: not a rerankit metrics file" in caplog.text
    assert "worker-2-0.metrics skipped: shorter than the header" in caplog.text


def test_counters_add_up_over_every_worker_that_ran_gauges_over_live_ones():
    workers = [
        worker(1, c_total=5, gauge_live=2, limit=100, start=50),
        worker(2, c_total=7, gauge_live=3, limit=80, start=40),  # dead
        worker(3, c_total=1, gauge_live=4, limit=90, start=60),
    ]
    totals = aggregate(workers, HOW, alive={1, 3})
    labels = (("a", "1"),)
    assert totals[("c_total", labels, "")] == 13  # the dead worker's counts still count
    assert totals[("gauge_live", labels, "")] == 6  # its in-flight calls do not
    assert totals[("limit", labels, "")] == 90  # the lowest live limit
    assert totals[("start", labels, "")] == 40  # the earliest worker


def text_value(text: str, series: str) -> float:
    m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert m, series
    return float(m.group(1))


def test_shared_metrics_add_up_counters_histograms_and_gauges(tmp_path):
    a, b = Metrics(), Metrics()
    a.record_request("v2_rerank", "m", 200, 0.003, None)  # before sharing: kept
    a.share(str(tmp_path))
    b.share(str(tmp_path))
    try:
        for seconds in (0.002, 0.02, 7.0):
            a.record_request("v2_rerank", "m", 200, seconds, None)
        b.record_request("v2_rerank", "m", 200, 0.02, None)
        b.record_request("v2_rerank", "m", 429, 0.0001, "rate_limit_error")
        a.in_flight.set((("deployment", "d"),), 2)
        b.in_flight.set((("deployment", "d"),), 1)
        a.redis_errors.inc((("operation", "rate_limit"),))

        class Cache:
            def __init__(self, hits: int) -> None:
                self.hits = hits

            def stats(self) -> dict[str, int]:
                return {"hits": self.hits, "misses": 1}

        a._cache, b._cache = Cache(3), Cache(4)
        text = b.exposition(Cache(4))  # b answers; a's cache counts as of its last snapshot
        a._snapshot()
        text = b.exposition(Cache(4))
    finally:
        a.close()
        b.close()
    ok = '{route="v2_rerank",model="m",status="200"}'
    assert text_value(text, f"rerankit_proxy_requests_total{ok}") == 5
    assert (
        text_value(
            text, 'rerankit_proxy_errors_total{route="v2_rerank",model="m",type="rate_limit_error"}'
        )
        == 1
    )
    base = 'route="v2_rerank",model="m"'
    assert text_value(text, f"rerankit_proxy_request_duration_seconds_count{{{base}}}") == 6
    # cumulative buckets: 0.0001 | 0.002, 0.003 | 0.02, 0.02 | 7.0
    bucket = "rerankit_proxy_request_duration_seconds_bucket"
    assert text_value(text, f'{bucket}{{{base},le="0.001"}}') == 1
    assert text_value(text, f'{bucket}{{{base},le="0.005"}}') == 3
    assert text_value(text, f'{bucket}{{{base},le="0.025"}}') == 5
    assert text_value(text, f'{bucket}{{{base},le="5"}}') == 5
    assert text_value(text, f'{bucket}{{{base},le="+Inf"}}') == 6
    total = text_value(text, f"rerankit_proxy_request_duration_seconds_sum{{{base}}}")
    assert abs(total - (0.003 + 0.002 + 0.02 + 7.0 + 0.02 + 0.0001)) < 1e-9
    assert text_value(text, 'rerankit_proxy_upstream_in_flight{deployment="d"}') == 3
    assert text_value(text, 'rerankit_proxy_redis_errors_total{operation="rate_limit"}') == 1
    assert text_value(text, 'rerankit_proxy_cache_total{result="hits"}') == 7
    assert text_value(text, 'rerankit_proxy_cache_total{result="misses"}') == 2
    assert text.count("# TYPE rerankit_proxy_request_duration_seconds histogram") == 1
    assert len(LATENCY_BUCKETS) + 1 == text.count(f"{bucket}{{{base},")
    assert text_value(text, "process_cpu_seconds_total") > 0
    assert text_value(text, "process_start_time_seconds") > 1.6e9


def test_one_process_metrics_include_refusals_cache_and_process():
    m = Metrics()
    m.record_request("v2_rerank", "m", 200, 0.01, None)

    class Cache:
        def stats(self) -> dict[str, int]:
            return {"hits": 2}

    text = m.exposition(Cache())
    assert "# TYPE rerankit_proxy_http_refused_total counter" in text
    assert text_value(text, 'rerankit_proxy_cache_total{result="hits"}') == 2
    assert (
        text_value(text, 'rerankit_proxy_requests_total{route="v2_rerank",model="m",status="200"}')
        == 1
    )
    assert "# TYPE process_cpu_seconds_total counter" in text
    assert text_value(text, "process_resident_memory_bytes") > 0
    assert text_value(text, "process_open_fds") > 0
    assert not m.shared
