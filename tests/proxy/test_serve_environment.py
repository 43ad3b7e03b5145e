"""`rerankit serve` configured by environment variables (containers), and JSON logs.

The real command in a subprocess: flags > environment > config file > default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from rerankit import cli
from tests.proxy.conftest import SELF_HOSTED_MODEL, ProxyProcess, free_port

ENV_KEY = "sk-from-the-environment-01"
FILE_KEY = "sk-from-the-config-file-02"
BODY = {"model": "bm25", "query": "memory", "documents": ["cats", "memory"]}


def config(master_key: str | None = None) -> dict:
    data: dict = {"model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}]}
    if master_key:
        data["general_settings"] = {"master_key": master_key}
    return data


def wait_ready(url: str, process: subprocess.Popen, log, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log()
        try:
            if httpx.get(f"{url}/health/readiness", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"not ready: {log()}")


def test_environment_alone_configures_a_container_style_run(tmp_path):
    """No flags at all: config, key, address, two workers and JSON logs from the env."""
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config()))  # no master key in the file
    port = free_port()
    env = {
        **os.environ,
        "RERANKIT_LOAD_PLUGINS": "local,proxy",
        "RERANKIT_CONFIG": str(path),
        "RERANKIT_MASTER_KEY": ENV_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "RERANKIT_WORKERS": "2",
        "RERANKIT_LOG_LEVEL": "info",
        "RERANKIT_LOG_FORMAT": "json",
    }
    err = tmp_path / "err"
    with err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rerankit.cli", "serve"], env=env, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, err.read_text)
        deadline = time.monotonic() + 40
        while err.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        assert httpx.post(f"{url}/v2/rerank", json=BODY).status_code == 401
        ids = []
        for n in range(4):  # new connections: both workers answer some
            r = httpx.post(
                f"{url}/v2/rerank",
                json=BODY,
                headers={"Authorization": f"Bearer {ENV_KEY}", "x-request-id": f"env-{n}"},
            )
            assert r.status_code == 200, r.text
            assert r.headers["x-request-id"] == f"env-{n}"
            ids.append(f"env-{n}")
    finally:
        process.terminate()
        process.wait(20)
    lines = [line for line in err.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
        assert record["time"].endswith("+00:00")
    access = [r for r in records if r["logger"] == "rerankit.proxy.access"]
    answered = [r for r in access if r["request_id"].startswith("env-")]
    assert sorted(r["request_id"] for r in answered) == ids
    assert all("POST /v2/rerank" in r["message"] for r in answered)
    assert ENV_KEY not in err.read_text()  # keys are never logged


def test_flags_win_over_the_environment(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("model_list: []\n")  # would fail to start if it were used
    process = ProxyProcess(
        tmp_path,
        config(FILE_KEY),
        env={
            "RERANKIT_LOAD_PLUGINS": "local,proxy",
            "RERANKIT_CONFIG": str(other),
            "PORT": "9",  # --port (ProxyProcess passes one) wins
            "RERANKIT_LOG_FORMAT": "json",
        },
        args=("--log-format", "text"),
    )
    try:
        process.wait_ready()
        r = httpx.post(
            f"{process.url}/v2/rerank", json=BODY, headers={"Authorization": f"Bearer {FILE_KEY}"}
        )
        assert r.status_code == 200
    finally:
        process.stop()
    access = [line for line in process.log().splitlines() if "POST /v2/rerank" in line]
    assert len(access) == 1, process.log()
    assert not access[0].startswith("{")  # text, as the flag says
    assert access[0].endswith(f"request_id={r.headers['x-request-id']}")


def test_environment_master_key_wins_over_the_files(tmp_path):
    process = ProxyProcess(
        tmp_path,
        config(FILE_KEY),
        env={"RERANKIT_LOAD_PLUGINS": "local,proxy", "RERANKIT_MASTER_KEY": ENV_KEY},
    )
    try:
        process.wait_ready()
        for key, status in ((ENV_KEY, 200), (FILE_KEY, 401)):
            r = httpx.post(
                f"{process.url}/v2/rerank", json=BODY, headers={"Authorization": f"Bearer {key}"}
            )
            assert r.status_code == status
    finally:
        process.stop()
    assert "the master key comes from RERANKIT_MASTER_KEY" in process.log()


def test_rerankit_port_wins_over_port(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "RERANKIT_LOAD_PLUGINS": "local,proxy",
        "RERANKIT_PORT": str(port),
        "PORT": "9",
        "RERANKIT_HOST": "127.0.0.1",
        "HOST": "0.0.0.0",
    }
    err = tmp_path / "err"
    with err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rerankit.cli", "serve"],
            env=env,
            stderr=stderr,
            stdout=subprocess.DEVNULL,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}", process, err.read_text)
        assert f"on http://127.0.0.1:{port}" in err.read_text()
    finally:
        process.terminate()
        process.wait(20)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("RERANKIT_PORT", "http", "RERANKIT_PORT must be a whole number from 1 to 65535"),
        ("PORT", "70000", "PORT must be a whole number from 1 to 65535"),
        ("RERANKIT_WORKERS", "0", "RERANKIT_WORKERS must be a whole number >= 1"),
        ("RERANKIT_LOG_LEVEL", "loud", "RERANKIT_LOG_LEVEL must be one of debug, info"),
        ("RERANKIT_LOG_FORMAT", "xml", "RERANKIT_LOG_FORMAT must be one of text, json"),
        ("RERANKIT_CONFIG", "x" * 5000, "RERANKIT_CONFIG has 5000 characters"),
    ],
)
def test_a_bad_variable_stops_serve_naming_it(monkeypatch, capsys, name, value, says):
    for other in ("RERANKIT_PORT", "PORT", "RERANKIT_WORKERS", "RERANKIT_CONFIG"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    assert cli.main(["serve"]) == 2  # before anything is configured or listens
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("key", ["short", "has a space in it", " sk-leading-space-01"])
def test_a_bad_master_key_variable_stops_serve_without_showing_it(tmp_path, key):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(config()))
    result = subprocess.run(
        [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(path), "--port", "9"],
        env={**os.environ, "RERANKIT_LOAD_PLUGINS": "local,proxy", "RERANKIT_MASTER_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "RERANKIT_MASTER_KEY must be a key of at least 8 characters" in result.stderr
    assert key.strip() not in result.stderr + result.stdout


def test_no_auth_with_a_master_key_in_the_environment_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(config()))
    result = subprocess.run(
        [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(path), "--no-auth"],
        env={**os.environ, "RERANKIT_LOAD_PLUGINS": "local,proxy", "RERANKIT_MASTER_KEY": ENV_KEY},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--no-auth turns authentication off" in result.stderr
    assert "RERANKIT_MASTER_KEY is set" in result.stderr
    assert ENV_KEY not in result.stderr + result.stdout


def test_json_log_lines_carry_exceptions_and_the_request_id(tmp_path, spare_nim):
    """An upstream failure logged inside a request: JSON with its request_id."""
    cfg = {
        "model_list": [
            {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": spare_nim.url}}
        ],
        "general_settings": {"master_key": FILE_KEY},
        "router_settings": {"num_retries": 0},
    }
    process = ProxyProcess(
        tmp_path,
        cfg,
        env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"},
        args=("--log-format", "json"),
    )
    try:
        process.wait_ready()
        spare_nim.clear()
        spare_nim.enqueue_faults(["status:503"])
        r = httpx.post(
            f"{process.url}/v2/rerank",
            json={"model": "m", "query": "q", "documents": ["q"]},
            headers={"Authorization": f"Bearer {FILE_KEY}", "x-request-id": "req-fails-1"},
        )
        assert r.status_code == 502
        assert r.headers["x-request-id"] == "req-fails-1"
    finally:
        spare_nim.clear()
        process.stop()
    records = [json.loads(line) for line in process.log().splitlines() if line.strip()]
    mine = [r for r in records if r.get("request_id") == "req-fails-1"]
    loggers = {r["logger"] for r in mine}
    # the access line and at least one other line of the same request (the router's)
    assert "rerankit.proxy.access" in loggers
    assert len(loggers) >= 2, mine
