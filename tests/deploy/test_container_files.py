"""The Dockerfile and compose.yaml: their shape checked, and what they run, run for real
without Docker (the image's health check, compose's stand-in NIM and config behind a real
`rerankit serve` sharing a real Redis, then the curl of compose.yaml's comment)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.fakes.redis_server import start_redis
from tests.proxy.conftest import ProxyProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments out."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(kept))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(DOCKERFILE):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_is_multi_stage_with_a_slim_non_root_runtime():
    builder, runtime = stages()
    assert builder[0][1].endswith("AS builder")
    assert re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim AS runtime", runtime[0][1])
    assert re.search(r"^ARG PYTHON_VERSION=3\.1[12]$", DOCKERFILE, re.M)
    # the runtime takes only the built venv from the builder: no uv, no sources, no wheels
    copies = [args for word, args in runtime if word == "COPY"]
    assert copies == ["--from=builder /opt/rerankit /opt/rerankit"]
    users = [args for word, args in runtime if word == "USER"]
    assert len(users) == 1 and users[0].split(":")[0] not in ("0", "root")
    assert f"--uid {users[0].split(':')[0]}" in DOCKERFILE  # the user exists
    assert ("EXPOSE", "4000") in runtime
    assert ("ENTRYPOINT", '["rerankit", "serve"]') in runtime


def test_dockerfile_builds_wheels_with_uv_and_installs_them_by_path():
    builder, _ = stages()
    run = " ".join(args for word, args in builder if word == "RUN")
    assert "uv build" in run and "--wheel" in run
    assert "uv pip install" in run and "/wheels/*.whl" in run
    providers = re.search(r'ARG PROVIDERS="([^"]+)"', DOCKERFILE).group(1).split()
    for name in providers:  # every default provider is a distribution of this repository
        assert (ROOT / "providers" / name / "pyproject.toml").is_file(), name


def dockerignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(
        fnmatch.fnmatch(path, p)
        or fnmatch.fnmatch(path, p.removeprefix("**/"))
        or path.startswith(p.removeprefix("**/") + "/")
        for p in patterns
    )


def test_what_the_builder_copies_exists_and_is_not_ignored():
    builder, _ = stages()
    sources = [args.split()[0] for word, args in builder if word == "COPY"]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source), source
        assert (ROOT / source / "pyproject.toml").exists() or source == "providers"
    # what must never reach the build context
    for secret_or_state in (".git", ".venv/lib", ".env", "tests/proxy", "plugins/cache/tests"):
        assert dockerignored(secret_or_state), secret_or_state


def healthcheck_command() -> str:
    (_, runtime) = stages()
    (args,) = [args for word, args in runtime if word == "HEALTHCHECK"]
    command = args.split(" CMD ", 1)[1]
    assert "curl" not in command and "wget" not in command  # not in a slim image
    return command


def test_the_images_health_check_asks_liveliness_on_the_proxys_port(tmp_path):
    command = healthcheck_command()
    assert "/health/liveliness" in command
    config = {"model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}]}
    process = ProxyProcess(tmp_path, config, env={"RERANKIT_LOAD_PLUGINS": "local,proxy"})
    try:
        process.wait_ready()
        for variables in (
            {"PORT": str(process.port)},
            {"RERANKIT_PORT": str(process.port), "PORT": "9"},
        ):
            env = {k: v for k, v in os.environ.items() if k not in ("PORT", "RERANKIT_PORT")}
            ok = subprocess.run(["sh", "-c", command], env={**env, **variables}, timeout=30)
            assert ok.returncode == 0
    finally:
        process.stop()
    # nothing listening there any more: the check fails
    down = subprocess.run(
        ["sh", "-c", command],
        env={**os.environ, "PORT": str(process.port)},
        capture_output=True,
        timeout=30,
    )
    assert down.returncode != 0


def test_compose_services_line_up():
    services = COMPOSE["services"]
    assert sorted(services) == ["fake-nim", "proxy", "redis"]
    proxy = services["proxy"]
    env = proxy["environment"]
    # the published port is the one the image's proxy listens on
    assert proxy["ports"] == ["127.0.0.1:4000:4000"]
    assert re.search(r"^\s+PORT=4000 \\$", DOCKERFILE, re.M)
    assert proxy["build"]["dockerfile"] == "Dockerfile"
    # the config file mounted where RERANKIT_CONFIG points, from the repository
    (mount,) = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert target == env["RERANKIT_CONFIG"] and mode == "ro"
    config = yaml.safe_load((ROOT / source).read_text())
    # it routes to the stand-in NIM, on the port that one listens on
    (deployment,) = config["model_list"]
    base = httpx.URL(deployment["params"]["api_base"])
    fake = services["fake-nim"]
    assert base.host == "fake-nim"
    assert str(base.port) in fake["expose"]
    assert fake["command"][fake["command"].index("--port") + 1] == str(base.port)
    nim_source, nim_target, _ = fake["volumes"][0].split(":")
    script = fake["command"][1]
    assert (ROOT / nim_source / Path(script).relative_to(nim_target)).is_file()
    # the Redis the proxy shares state through is the compose one
    redis = httpx.URL(env["RERANKIT_REDIS_URL"])
    assert redis.host == "redis" and redis.port == 6379
    assert proxy["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in services["redis"]
    # a usable default key, overridable from the shell
    assert re.fullmatch(r"\$\{RERANKIT_MASTER_KEY:-[\w-]{8,}\}", env["RERANKIT_MASTER_KEY"])


def compose_curl() -> tuple[str, dict[str, str], dict[str, Any]]:
    """The curl of compose.yaml's comment: (url, headers, JSON body)."""
    comment = "\n".join(
        line.lstrip("#").strip()
        for line in (ROOT / "compose.yaml").read_text().splitlines()
        if line.startswith("#")
    )
    command = comment[comment.index("curl") :].split("\n\n")[0].replace("\\\n", " ")
    words = shlex.split(command.splitlines()[0] if "\n" in command else command)
    url = next(w for w in words if w.startswith("http"))
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    body = json.loads(words[words.index("-d") + 1])
    return url, headers, body


def wait_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_compose_stack_answers_the_documented_curl_without_docker(tmp_path):
    """compose.yaml's three services as local processes: stand-in NIM, Redis, proxy."""
    services = COMPOSE["services"]
    nim_port = free_port()
    nim = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy/fake-nim/fake_nim.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(nim_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis = start_redis(tmp_path / "redis")
    try:
        wait_port(nim_port)
        source = services["proxy"]["volumes"][0].split(":")[0]
        text = (
            (ROOT / source)
            .read_text()
            .replace("http://fake-nim:8000", f"http://127.0.0.1:{nim_port}")
        )
        env = {
            name: value
            for name, value in services["proxy"]["environment"].items()
            if name not in ("RERANKIT_CONFIG",)
        }
        key = re.fullmatch(r"\$\{RERANKIT_MASTER_KEY:-(.+)\}", env["RERANKIT_MASTER_KEY"]).group(1)
        env["RERANKIT_MASTER_KEY"] = key
        env["RERANKIT_REDIS_URL"] = redis.url
        # One worker keeps the test quick; several workers from the environment are
        # tested in tests/proxy/test_serve_environment.py.
        env["RERANKIT_WORKERS"] = "1"
        env["RERANKIT_LOAD_PLUGINS"] = "nvidia_nim,proxy"
        process = ProxyProcess(tmp_path, yaml.safe_load(text), env=env)
        try:
            process.wait_ready(timeout=40)
            url, headers, body = compose_curl()
            assert headers["Authorization"] == f"Bearer {key}"
            r = httpx.post(
                url.replace("127.0.0.1:4000", f"127.0.0.1:{process.port}"),
                headers=headers,
                json=body,
            )
            assert r.status_code == 200, r.text
            ranked = [body["documents"][x["index"]] for x in r.json()["results"]]
            assert ranked[0] == "gpu memory"
        finally:
            process.stop()
        assert "shared through Redis" in process.log()
    finally:
        nim.terminate()
        nim.wait(10)
        redis.stop()
