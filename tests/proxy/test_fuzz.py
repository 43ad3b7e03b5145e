"""A schema-driven fuzz run (schemathesis' CLI) against the proxy's own /openapi.json.

The only check is that no input makes the proxy answer 5xx. Bounded (few examples per
operation, a time budget) so it stays within about half a minute.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.proxy.conftest import MASTER

HEADERS = {"Authorization": f"Bearer {MASTER}"}


def test_no_input_makes_the_proxy_fail(proxy, tmp_path):
    document = httpx.get(f"{proxy.url}/openapi.json", headers=HEADERS).json()
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(document))
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            str(schema),
            "--url",
            proxy.url,
            "--header",
            f"Authorization: Bearer {MASTER}",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "20",
            # a bound, not the budget: the run ends at --max-examples, however loaded the
            # machine (a short --max-time made the count depend on the machine's speed)
            "--max-time",
            "90",
            # /health calls every upstream (some fail on purpose); fuzzing it only adds load
            "--exclude-path",
            "/health",
            "--seed",
            "4",
            "--no-color",
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,  # schemathesis keeps a cache folder in its working directory
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert passed and int(passed.group(2)) >= 100, result.stdout[-2000:]
    assert " failed" not in result.stdout
