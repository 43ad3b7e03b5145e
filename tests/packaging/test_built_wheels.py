"""The built wheels, not the editable workspace: what `pip install rerankit` gives a user.

One test (marked `packaging`; CI builds the distributions once and points
RERANKIT_DIST_DIR at them, otherwise the test builds the wheels itself). In a fresh
virtual environment: `rerankit` alone ranks with `local/bm25` and names the distribution
for an uninstalled provider; with the `nvidia-nim` extra, the README's Python example and
the command reach the fake NIM on 127.0.0.1. Installs come from uv's cache (offline) when
it has everything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import NIM_KEY
from tests.fakes.nim_server import FakeNimServer
from tests.tooling import uv_binary

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def uv() -> str:
    return uv_binary()


def wheels(tmp_path: Path) -> Path:
    built = os.environ.get("RERANKIT_DIST_DIR")
    if built:
        return Path(built)
    out = tmp_path / "dist"
    subprocess.run(
        [uv(), "build", "--all-packages", "--wheel", "--quiet", "--out-dir", str(out)],
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    return out


def install(python: Path, dist: Path, requirement: str, cwd: Path) -> None:
    base = [uv(), "pip", "install", "--quiet", "--python", str(python)]
    base += ["--find-links", str(dist), requirement]
    for extra in (["--offline"], []):  # the cache first; the index only for what it lacks
        result = subprocess.run(base + extra, capture_output=True, text=True, cwd=cwd)
        if result.returncode == 0:
            return
    raise AssertionError(f"uv pip install {requirement} failed:\n{result.stderr}")


@pytest.mark.packaging
def test_wheels_install_and_work_outside_the_workspace(tmp_path, nim_server: FakeNimServer):
    dist = wheels(tmp_path)
    assert list(dist.glob("rerankit-*.whl")), f"no rerankit wheel in {dist}"
    # The proxy is its own distribution: the core wheel carries none of it.
    (core_wheel,) = dist.glob("rerankit-*.whl")
    assert not [n for n in zipfile.ZipFile(core_wheel).namelist() if "proxy" in n], core_wheel
    assert list(dist.glob("rerankit_proxy-*.whl")), f"no rerankit-proxy wheel in {dist}"
    venv = tmp_path / "venv"
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python, script = venv / "bin" / "python", venv / "bin" / "rerankit"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RERANKIT_", "NVIDIA_"))}
    env.pop("VIRTUAL_ENV", None)

    def run(*args: str | Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**env, **extra},
            timeout=120,
        )

    # `pip install rerankit` alone: the embedded default works, from the wheel.
    install(python, dist, "rerankit", tmp_path)
    where = run(python, "-c", "import rerankit; print(rerankit.__file__, rerankit.__version__)")
    location, version = where.stdout.split()
    assert location.startswith(str(venv)), "rerankit must come from the wheel, not the workspace"
    assert run(script, "--version").stdout.strip() == f"rerankit {version}"
    ranked = run(
        script, "rerank", "local/bm25", "h100 bandwidth", "-d", "cats", "-d", "H100 bandwidth"
    )
    assert ranked.returncode == 0, ranked.stderr
    assert ranked.stdout.splitlines()[1].split()[:2] == ["1", "1"]
    # without the proxy plugin, `rerankit serve` says what to install
    serve = run(script, "serve")
    assert serve.returncode == 2
    assert "pip install 'rerankit[proxy]'" in serve.stderr
    missing = run(script, "rerank", "nvidia_nim/nvidia/x", "q", "-d", "a")
    assert missing.returncode == 2
    assert (
        "pip install rerankit-nvidia-nim (or pip install 'rerankit[nvidia-nim]')" in missing.stderr
    )

    # The extra adds the NIM provider; the README's example runs against the fake NIM.
    install(python, dist, "rerankit[nvidia-nim]", tmp_path)
    nim_env = {"NVIDIA_NIM_API_BASE": nim_server.url, "NVIDIA_NIM_API_KEY": NIM_KEY}
    readme = PYTHON_BLOCK.findall((ROOT / "README.md").read_text())[0]
    example = run(python, "-c", readme, **nim_env)
    assert example.returncode == 0, example.stderr
    assert "'relevance_score'" in example.stdout and "'results'" in example.stdout
    cli = run(
        script,
        "rerank",
        "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2",
        "H100 memory bandwidth",
        "-d",
        "A100 is older",
        "-d",
        "H100 memory bandwidth is 3TB/s",
        "--json",
        **nim_env,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["meta"]["provider"] == "nvidia_nim"
    rows = json.loads(run(script, "providers", "--json").stdout)
    assert {r["prefix"]: r["distribution"] for r in rows} == {
        "local": "rerankit",
        "nvidia_nim": "rerankit-nvidia-nim",
    }
