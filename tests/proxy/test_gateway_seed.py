"""The gateway docs' NIM example, verbatim, against `rerankit serve --config` (issue 13).

The example is a file with only `model_list` and a `curl ... -H "Authorization: Bearer
sk-1234"`: in that file format no master key means no authentication. The proxy follows
it on loopback (with a loud warning) and refuses to start on any other address without a
master key unless `--no-auth` is given.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from rerankit.errors import ConfigurationError
from rerankit_proxy.config_reader import parse_config
from rerankit_proxy.server import choose_auth, is_loopback
from tests.conftest import NIM_KEY
from tests.fakes.nim_server import score
from tests.proxy.conftest import MASTER, ProxyProcess

#: shared/specs/nvidia-nim.md, "Gateway config (the proxy must accept this file shape as-is)"
EXAMPLE = {
    "model_list": [
        {
            "model_name": "nvidia-rerank",
            "litellm_params": {
                "model": "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2",
                "api_key": "os.environ/NVIDIA_NIM_API_KEY",
            },
        }
    ]
}
DOCUMENTS = [
    "H100 delivers 3TB/s memory bandwidth",
    "A100 has 2TB/s memory bandwidth",
    "V100 offers 900GB/s memory bandwidth",
]
QUERY = "What is the GPU memory bandwidth of H100?"


def _curl(url: str) -> subprocess.CompletedProcess[str]:
    """The example's curl, only the address changed (the proxy listens on loopback)."""
    body = json.dumps(
        {"model": "nvidia-rerank", "query": QUERY, "documents": DOCUMENTS, "top_n": 2}
    )
    return subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            f"{url}/rerank",
            "-H",
            "Authorization: Bearer sk-1234",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )


def _env(nim_url: str) -> dict[str, str]:
    # The file is verbatim; the fake NIM is reached the spec's first documented way.
    return {
        "NVIDIA_NIM_API_KEY": NIM_KEY,
        "NVIDIA_NIM_API_BASE": nim_url,
        "RERANKIT_LOAD_PLUGINS": "nvidia_nim,proxy",
    }


def _wait_for_workers(process: ProxyProcess, n: int) -> None:
    deadline = time.monotonic() + 40
    while process.log().count("Application startup complete") < n:
        assert time.monotonic() < deadline, process.log()
        time.sleep(0.05)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_example_config_and_curl_work_on_loopback(tmp_path, nim, workers):
    args = ("--workers", str(workers)) if workers > 1 else ()
    process = ProxyProcess(tmp_path, EXAMPLE, env=_env(nim.url), args=args)
    try:
        process.wait_ready(timeout=40)
        _wait_for_workers(process, workers)
        for _ in range(2 * workers):  # a new connection each time: every worker answers
            result = _curl(process.url)
            text, _, status = result.stdout.rpartition("\n")
            assert status == "200", (result.stdout, result.stderr, process.log())
            answer = json.loads(text)
            best = sorted(range(3), key=lambda i: -score(QUERY, DOCUMENTS[i]))[:2]
            assert [r["index"] for r in answer["results"]] == best
        assert nim.requests[-1].headers["authorization"] == f"Bearer {NIM_KEY}"
        assert "NO AUTHENTICATION" in process.log()
        assert "sk-rerankit-" not in process.stdout()  # no key generated, none needed
        # the admin routes are open too, as in that file format
        assert httpx.get(f"{process.url}/metrics").status_code == 200
    finally:
        process.stop()


def _serve(tmp_path, *args: str, config: dict | None = EXAMPLE) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rerankit.cli", "serve", "--port", "9", *args]
    if config is not None:
        path = tmp_path / "example.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        command += ["--config", str(path)]
    env = {**os.environ, **_env("http://127.0.0.1:9")}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_any_other_address_without_a_master_key_refuses_to_start(tmp_path):
    result = _serve(tmp_path, "--host", "0.0.0.0")
    assert result.returncode == 2, result.stderr
    assert "sets no general_settings.master_key" in result.stderr
    assert "--no-auth" in result.stderr and "--host 127.0.0.1" in result.stderr


def test_no_auth_with_a_configured_master_key_is_refused(tmp_path):
    config = {**EXAMPLE, "general_settings": {"master_key": MASTER}}
    result = _serve(tmp_path, "--no-auth", config=config)
    assert result.returncode == 2, result.stderr
    assert "--no-auth turns authentication off" in result.stderr


def test_no_auth_serves_the_default_config_open(tmp_path):
    process = ProxyProcess(tmp_path, None, args=("--no-auth",))
    try:
        process.wait_ready()
        body = {"model": "local/bm25", "query": "memory", "documents": ["cats", "memory"]}
        r = httpx.post(f"{process.url}/v2/rerank", json=body)
        assert r.status_code == 200, r.text
        assert "NO AUTHENTICATION" in process.log()
        assert not re.findall(r"sk-rerankit-[\w-]+", process.stdout())
    finally:
        process.stop()


def test_choose_auth():
    bare = parse_config(EXAMPLE, environ={"NVIDIA_NIM_API_KEY": "k"})
    assert choose_auth(bare, True, "127.0.0.1").open_access
    assert choose_auth(bare, True, "::1").open_access
    assert choose_auth(bare, True, "0.0.0.0", no_auth=True).open_access
    with pytest.raises(ConfigurationError, match="--no-auth"):
        choose_auth(bare, True, "10.1.2.3")
    # without a file the generated key stays (printed at start-up)
    assert not choose_auth(bare, False, "0.0.0.0").open_access
    keyed = parse_config(
        {**EXAMPLE, "keys": [{"name": "team", "key": "sk-team-key-0001", "models": ["*"]}]},
        environ={"NVIDIA_NIM_API_KEY": "k"},
    )
    assert not choose_auth(keyed, True, "127.0.0.1").open_access  # keys mean auth


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("proxy.internal", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_the_gateway_files_short_master_key_is_accepted_with_a_warning(tmp_path, nim):
    # the gateway file's own example: `master_key: sk-1234`
    config = {**EXAMPLE, "general_settings": {"master_key": "sk-1234"}}
    process = ProxyProcess(tmp_path, config, env=_env(nim.url), args=("--host", "127.0.0.1"))
    try:
        process.wait_ready()
        result = _curl(process.url)
        assert result.stdout.rpartition("\n")[2] == "200", (result.stdout, process.log())
        body = {"model": "nvidia-rerank", "query": "q", "documents": ["q"]}
        wrong = httpx.post(
            f"{process.url}/rerank", json=body, headers={"Authorization": "Bearer sk-1235"}
        )
        assert wrong.status_code == 401
        assert httpx.post(f"{process.url}/rerank", json=body).status_code == 401
        log = process.log()
        assert "general_settings.master_key has only 7 characters" in log
        assert "NO AUTHENTICATION" not in log
        assert "sk-1234" not in log + process.stdout()  # the key itself is never shown
    finally:
        process.stop()


def test_a_short_virtual_key_is_still_refused():
    with pytest.raises(ConfigurationError, match="at least 8"):
        parse_config(
            {
                **EXAMPLE,
                "general_settings": {"master_key": "sk-1234"},
                "keys": [{"name": "team", "key": "sk-team", "models": ["*"]}],
            },
            environ={"NVIDIA_NIM_API_KEY": "k"},
        )


@pytest.mark.parametrize("setting", ["allowed_ips", "custom_auth", "enforce_user_param"])
def test_access_settings_it_cannot_honour_stop_start_up(setting):
    config = {**EXAMPLE, "general_settings": {"master_key": MASTER, setting: ["10.0.0.1"]}}
    with pytest.raises(ConfigurationError, match=f"general_settings.{setting}: restricts who"):
        parse_config(config, environ={"NVIDIA_NIM_API_KEY": "k"})
