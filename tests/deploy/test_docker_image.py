"""The image itself, where a Docker daemon answers: build it, run it with a config, wait
for its health check, rerank. Skipped without a daemon (this project's CI machines have
none: tests/deploy/test_container_files.py checks the files and runs their commands)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.proxy.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER = shutil.which("docker")
KEY = "sk-docker-smoke-test-key"


def _daemon() -> bool:
    if DOCKER is None:
        return False
    return subprocess.run([DOCKER, "info"], capture_output=True, timeout=20).returncode == 0


pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(not _daemon(), reason="no Docker daemon reachable"),
]


def test_image_builds_runs_as_non_root_becomes_healthy_and_reranks(tmp_path):
    assert DOCKER is not None
    tag = f"rerankit-proxy:test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [DOCKER, "build", "-t", tag, "--build-arg", "PROVIDERS=nvidia-nim", str(ROOT)],
        check=True,
        timeout=900,
    )
    config = tmp_path / "config.yaml"
    deployment = {"model_name": "bm25", "params": {"model": "local/bm25"}}
    config.write_text(json.dumps({"model_list": [deployment]}))
    config.chmod(0o644)
    port = free_port()
    name = f"rerankit-smoke-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            DOCKER, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:4000",
            "-e", f"RERANKIT_MASTER_KEY={KEY}", "-e", "RERANKIT_CONFIG=/etc/rerankit/config.yaml",
            "-v", f"{config}:/etc/rerankit/config.yaml:ro", tag,
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    try:
        user = subprocess.run(
            [DOCKER, "exec", name, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert user != "0"
        deadline = time.monotonic() + 90
        status = ""
        while time.monotonic() < deadline and status != "healthy":
            status = subprocess.run(
                [DOCKER, "inspect", "-f", "{{.State.Health.Status}}", name],
                capture_output=True,
                text=True,
            ).stdout.strip()
            time.sleep(1)
        assert status == "healthy"
        r = httpx.post(
            f"http://127.0.0.1:{port}/v2/rerank",
            json={"model": "bm25", "query": "memory", "documents": ["cats", "memory"]},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert r.status_code == 200 and r.json()["results"][0]["index"] == 1
        logs = subprocess.run([DOCKER, "logs", name], capture_output=True, text=True).stderr
        assert all(json.loads(line) for line in logs.splitlines() if line.strip())
        assert KEY not in logs
    finally:
        subprocess.run([DOCKER, "rm", "-f", name], capture_output=True)
        subprocess.run([DOCKER, "rmi", "-f", tag], capture_output=True)
