"""The benchmark suite still runs: `benchmarks/run.py --quick` ends well and writes JSON.

Smoke only: the quick mode's numbers mean nothing and nothing here looks at timings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.scenarios.proxy import redis_missing

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_emits_valid_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            *("--scenario", "import", "--scenario", "sync", "--scenario", "async"),
            *("--scenario", "large", "--scenario", "proxy"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(out.read_text())
    scenarios = payload["scenarios"]
    assert set(scenarios) == {"import", "sync", "async", "large", "proxy"}
    for name in ("import", "sync", "async"):
        assert scenarios[name]["skipped"] is None
        assert scenarios[name]["rows"], name
    assert "rerankit.rerank" in scenarios["sync"]["data"]
    assert "rerankit.arerank" in scenarios["async"]["data"]["16"]
    proxy = scenarios["proxy"]["data"]
    if scenarios["proxy"]["skipped"] is None:  # wrk when installed, else the aiohttp fallback
        assert proxy["tool"] in {"wrk", "aiohttp"}
        targets = ["upstream_direct", "proxy", "proxy_workers2"]
        if redis_missing() is None:  # the Redis variant runs wherever redis-server does
            targets.append("proxy_workers2_redis")
        for target in targets:
            assert proxy[target]["n"] > 0 and proxy[target]["cpu_ms_per_request"] > 0, target
    assert {t["figure"] for t in payload["targets"]} >= {
        "sync per-call mean, x bare httpx",
        "async req/s at 16, x bare aiohttp",
    }
    assert "### Targets" in result.stdout  # the readable table went to stdout too
