"""`rerankit serve --workers 2`: `/metrics` is one server's, whichever worker answers.

A real `rerankit serve` with two uvicorn workers on 127.0.0.1; requests and scrapes go on
fresh connections, so both workers answer both. Every counter and histogram count must
never go back from one scrape to the next, and the totals must be the requests sent,
also after a worker is killed and uvicorn starts another.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from rerankit_proxy.metrics_files import WorkerValues, is_alive, read_worker_files

from .conftest import DOCS, MASTER, QUERY, ProxyProcess

ENV = {"RERANKIT_LOAD_PLUGINS": "local,proxy"}
CONFIG = {
    "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}],
    "general_settings": {"master_key": MASTER},
}
REQUESTS = "rerankit_proxy_requests_total"
COUNT = "rerankit_proxy_request_duration_seconds_count"
LINE = re.compile(r"^([a-z_]+)(\{[^}]*\})? (\S+)$")


def scrape(url: str) -> dict[str, float]:
    """Every sample of one scrape: 'name{labels}' -> value."""
    r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {MASTER}"}, timeout=10)
    assert r.status_code == 200
    samples = {}
    for line in r.text.splitlines():
        m = LINE.match(line)
        if m:
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def rerank(url: str) -> int:
    r = httpx.post(
        f"{url}/v1/rerank",
        json={"model": "bm25", "query": QUERY, "documents": DOCS},
        headers={"Authorization": f"Bearer {MASTER}"},
        timeout=10,
    )
    return r.status_code


def metrics_dir(tmp: Path) -> Path:
    (found,) = tmp.glob("rerankit-proxy-metrics-*")
    return found


def workers(directory: Path) -> list[WorkerValues]:
    return list(read_worker_files(directory))


def requests_of(worker: WorkerValues) -> float:
    return sum(v for (name, _, _), v in worker.values.items() if name == REQUESTS)


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))


def is_monotonic_series(name: str) -> bool:
    if name.startswith("process_"):
        return name.startswith("process_cpu_seconds_total")
    return "_in_flight" not in name  # every rerankit_proxy_* but the gauge only grows


def test_two_workers_report_one_monotonic_set_of_metrics(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proxy = ProxyProcess(tmp_path, CONFIG, env={**ENV, "TMPDIR": str(tmp)}, args=("--workers", "2"))
    proxy.wait_ready()
    sent = 0
    #: batches of scrapes: those of one batch ran at once, each batch after the one before
    scrapes: list[list[dict[str, float]]] = []
    try:
        directory = metrics_dir(tmp)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700  # private to this user
        with ThreadPoolExecutor(4) as pool:
            # Concurrent requests on fresh connections, until both workers served some.
            for _ in range(20):
                statuses = list(pool.map(lambda _: rerank(proxy.url), range(8)))
                assert statuses == [200] * 8
                sent += 8
                scrapes.append(list(pool.map(lambda _: scrape(proxy.url), range(4))))
                live = [w for w in workers(directory) if requests_of(w) > 0]
                if len(live) == 2:
                    break
            assert len(live) == 2, "the kernel gave every connection to one worker"
            # A killed worker's counts stay in the totals; uvicorn starts another.
            victim = live[0].pid
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                pids = {w.pid for w in workers(directory) if is_alive(w.pid)}
                if len(pids) == 2 and victim not in pids:
                    break
                time.sleep(0.1)
            assert victim not in pids and len(pids) == 2, pids
            for _ in range(3):
                statuses = list(pool.map(lambda _: rerank(proxy.url), range(8)))
                assert statuses == [200] * 8
                sent += 8
                scrapes.append(list(pool.map(lambda _: scrape(proxy.url), range(4))))
        final = [scrape(proxy.url) for _ in range(6)]
    finally:
        proxy.stop()
    # Every scrape of a batch against every scrape of the next: none may be lower.
    batches = [*scrapes, *([s] for s in final)]
    for earlier, later in itertools.pairwise(batches):
        for before, after in itertools.product(earlier, later):
            for series, value in before.items():
                if is_monotonic_series(series):
                    assert after.get(series, 0.0) >= value, (series, value, after.get(series))
    # Every scrape, from whichever worker, counts every request sent until then.
    for samples in final:
        assert samples[f'{REQUESTS}{{route="v1_rerank",model="bm25",status="200"}}'] == sent
        assert samples[f'{COUNT}{{route="v1_rerank",model="bm25"}}'] == sent
        inf = '{route="v1_rerank",model="bm25",le="+Inf"}'
        assert samples[f"rerankit_proxy_request_duration_seconds_bucket{inf}"] == sent
        assert total(samples, "process_cpu_seconds_total") > 0
        assert samples["process_resident_memory_bytes"] > 0
        assert samples["process_open_fds"] > 0
    # The private directory goes when the server stops.
    assert not list(tmp.glob("rerankit-proxy-metrics-*"))
