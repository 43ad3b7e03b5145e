"""`rerankit serve`: the default config, start-up errors, the missing extra, SIGTERM."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import httpx
import pytest

from rerankit import cli
from tests.proxy.conftest import MASTER, SELF_HOSTED_MODEL, ProxyProcess


def test_without_config_serves_installed_providers_behind_a_printed_key(tmp_path):
    process = ProxyProcess(tmp_path, None)
    try:
        process.wait_ready()
        printed = re.findall(r"sk-rerankit-[\w-]+", process.stdout())
        assert len(printed) == 1  # shown once
        key = printed[0]
        assert key not in process.log()  # and never logged
        body = {"model": "local/bm25", "query": "memory", "documents": ["cats", "memory"]}
        assert httpx.post(f"{process.url}/v2/rerank", json=body).status_code == 401
        r = httpx.post(
            f"{process.url}/v2/rerank", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["index"] == 1
        assert r.headers["x-rerankit-deployment"] == "local/*"
        models = httpx.get(f"{process.url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert "local/*" in [m["id"] for m in models.json()["data"]]
    finally:
        process.stop()


def test_config_error_exits_2_before_listening(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model_list:\n  - {model_name: m, params: {model: nope/x}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "rerankit.cli", "serve", "--config", str(path), "--port", "9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{path}: model_list[0].params" in result.stderr
    assert "'nope'" in result.stderr


def test_missing_extra_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'rerankit[proxy]'" in err
    assert "uvicorn" in err


def test_sigterm_lets_in_flight_requests_finish(tmp_path, spare_nim):
    config = {
        "model_list": [
            {"model_name": "m", "params": {"model": SELF_HOSTED_MODEL, "api_base": spare_nim.url}}
        ],
        "general_settings": {"master_key": MASTER},
    }
    process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy"})
    try:
        process.wait_ready()
        spare_nim.clear()
        spare_nim.enqueue_faults(["slow:1"])
        result: dict[str, httpx.Response] = {}

        def call() -> None:
            result["r"] = httpx.post(
                f"{process.url}/v2/rerank",
                json={"model": "m", "query": "q", "documents": ["q"]},
                headers={"Authorization": f"Bearer {MASTER}"},
                timeout=10,
            )

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 5
        while not spare_nim.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert spare_nim.requests, "the call never reached the upstream"
        process.stop()  # SIGTERM while the upstream is still answering
        thread.join(10)
        assert result["r"].status_code == 200
        assert process.process.returncode in (0, -15)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{process.url}/health/liveliness", timeout=1)
    finally:
        spare_nim.clear()
        process.stop()


def test_workers_share_the_generated_key(tmp_path):
    process = ProxyProcess(tmp_path, None, args=("--workers", "2"))
    try:
        process.wait_ready(timeout=40)
        # Ready means one worker answers; wait until the second has started too.
        deadline = time.monotonic() + 40
        while process.log().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.05)
        (key,) = re.findall(r"sk-rerankit-[\w-]+", process.stdout())
        body = {"model": "local/bm25", "query": "memory", "documents": ["cats", "memory"]}
        for _ in range(6):  # a new connection each time: both workers get some
            r = httpx.post(
                f"{process.url}/v2/rerank", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            assert r.status_code == 200, r.text
    finally:
        process.stop()


def test_import_rerankit_does_not_import_the_proxy():
    code = (
        "import sys, rerankit; rerankit.rerank; rerankit.AsyncClient; "
        "heavy = ('rerankit_proxy', 'uvicorn', 'yaml'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _serve_in_subprocess(prelude: str, load: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; {prelude}from rerankit.cli import main; sys.exit(main(['serve']))"
    env = {**os.environ, "RERANKIT_LOAD_PLUGINS": load}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


def test_serve_comes_from_the_proxy_plugin(capsys):
    import rerankit_proxy.plugin
    from rerankit.plugins import get_plugin_manager

    assert get_plugin_manager().get_plugin("proxy") is rerankit_proxy.plugin
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--help"])
    assert exited.value.code == 0
    assert "--max-connections" in capsys.readouterr().out  # the plugin's parser, not core's


def test_without_the_plugin_serve_says_what_to_install():
    # rerankit_proxy not importable: as after `pip install rerankit` alone.
    result = _serve_in_subprocess("sys.modules['rerankit_proxy'] = None; ", "local")
    assert result.returncode == 2
    assert "pip install 'rerankit[proxy]'" in result.stderr


def test_plugin_left_out_by_load_plugins_is_named():
    result = _serve_in_subprocess("", "local")
    assert result.returncode == 2
    assert "RERANKIT_LOAD_PLUGINS" in result.stderr
