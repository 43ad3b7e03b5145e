"""What a third party does: scaffold a plugin, install it beside rerankit, use it.

One fresh virtual environment per test session (uv, offline from its cache when it can):
rerankit from core/, then `rerankit new-provider acme` run by the installed command, then
the scaffolded `rerankit-acme` with its test extra. Its own tests pass there; a
`rerankit.rerank("acme/...")` from that environment reaches a loopback server speaking
the scaffold's wire format; `rerankit providers` lists it; a second plugin claiming
`acme` makes every lookup a DuplicateProviderError naming both distributions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.tooling import uv_binary

ROOT = Path(__file__).resolve().parents[2]
KEY = "acme-e2e-secret-key"


@dataclass
class PluginEnv:
    """The venv and the scaffolded plugin installed into it."""

    python: Path
    bin: Path
    plugin: Path
    workdir: Path

    def run(self, *args: str | Path, cwd: Path | None = None, **env: str) -> Any:
        """Run a command of the venv with a clean environment (no RERANKIT_*, no .venv)."""
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RERANKIT_", "ACME_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
        }
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd or self.workdir,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )


def uv_install(python: Path, *targets: str | Path) -> None:
    """`uv pip install` into `python`'s venv: offline from the cache first, then online."""
    uv = uv_binary()
    base = [uv, "pip", "install", "--quiet", "--python", str(python), *map(str, targets)]
    for extra in (["--offline"], []):
        result = subprocess.run(base + extra, capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            return
    raise AssertionError(f"uv pip install failed:\n{result.stderr}")


@pytest.fixture(scope="session")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> PluginEnv:
    uv = uv_binary()
    workdir = tmp_path_factory.mktemp("third_party")
    venv = workdir / "venv"
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    uv_install(python, ROOT / "core")
    env = PluginEnv(
        python=python, bin=venv / "bin", plugin=workdir / "rerankit-acme", workdir=workdir
    )
    # The installed command scaffolds, as a third party would run it (templates in the wheel).
    result = env.run(env.bin / "rerankit", "new-provider", "acme", "--output", workdir)
    assert result.returncode == 0, result.stderr
    uv_install(python, f"{env.plugin}[test]")
    return env


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


@pytest.fixture
def acme_server() -> Iterator[tuple[str, list[Seen]]]:
    """A loopback server speaking the scaffold's wire: Cohere-style `POST /v1/rerank`."""
    seen: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path != "/v1/rerank" or self.headers.get("Authorization") != f"Bearer {KEY}":
                self._send(404 if self.path != "/v1/rerank" else 401, {"message": "no"})
                return
            query = set(body["query"].lower().split())
            scores = [len(query & set(d.lower().split())) / 10 for d in body["documents"]]
            ranked = sorted(enumerate(scores), key=lambda pair: -pair[1])
            top_n = body.get("top_n", len(ranked))
            results = [{"index": i, "relevance_score": s} for i, s in ranked[:top_n]]
            self._send(200, {"id": "e2e", "results": results, "meta": {"billed_units": {}}})

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_scaffold_passes_its_own_tests(plugin_env: PluginEnv) -> None:
    result = plugin_env.run(
        plugin_env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin_env.plugin
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert " failed" not in result.stdout


def test_rerank_through_the_installed_plugin(
    plugin_env: PluginEnv, acme_server: tuple[str, list[Seen]]
) -> None:
    url, seen = acme_server
    code = (
        "import rerankit\n"
        "docs = ['a poem about cats', 'H100 memory bandwidth is 3TB/s',\n"
        "        'gpu memory bandwidth table']\n"
        "r = rerankit.rerank('acme/some-model', 'gpu memory bandwidth', docs, top_n=2)\n"
        "print(r.model_dump_json())\n"
    )
    result = plugin_env.run(plugin_env.python, "-c", code, ACME_API_BASE=url, ACME_API_KEY=KEY)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert [r["index"] for r in response["results"]] == [2, 1]
    assert response["results"][0]["document"] == {"text": "gpu memory bandwidth table"}
    assert response["model"] == "acme/some-model"
    assert response["meta"]["provider"] == "acme"
    [request] = seen
    assert request.path == "/v1/rerank"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "some-model"
    assert request.body["top_n"] == 2


def test_providers_command_lists_the_plugin(plugin_env: PluginEnv) -> None:
    result = plugin_env.run(plugin_env.bin / "rerankit", "providers", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["prefix"]: row for row in json.loads(result.stdout)}
    assert rows["acme"]["distribution"] == "rerankit-acme"
    assert rows["acme"]["env_vars"] == ["ACME_API_KEY", "ACME_API_BASE"]


def test_a_second_plugin_claiming_the_prefix_is_a_clear_error(plugin_env: PluginEnv) -> None:
    # A different distribution (rerankit-acme-fork) whose hook also registers "acme".
    fork = plugin_env.workdir / "rerankit-acme-fork"
    made = plugin_env.run(plugin_env.bin / "rerankit", "new-provider", "acme_fork")
    assert made.returncode == 0, made.stderr
    init = fork / "src" / "rerankit_acme_fork" / "__init__.py"
    init.write_text(init.read_text().replace('register("acme_fork",', 'register("acme",'))
    uv_install(plugin_env.python, fork)
    try:
        result = plugin_env.run(plugin_env.bin / "rerankit", "providers")
        assert result.returncode == 2
        message = result.stderr
        assert "'acme'" in message
        assert "rerankit-acme)" in message
        assert "rerankit-acme-fork)" in message
        code = (
            "import rerankit\n"
            "try:\n"
            "    rerankit.rerank('acme/m', 'q', ['d'])\n"
            "except rerankit.DuplicateProviderError as exc:\n"
            "    print(exc.prefix, *exc.plugins, sep='|')\n"
        )
        result = plugin_env.run(plugin_env.python, "-c", code)
        prefix, *plugins = result.stdout.strip().split("|")
        assert prefix == "acme"
        assert sorted(plugins) == ["acme (rerankit-acme)", "acme_fork (rerankit-acme-fork)"]
    finally:
        subprocess.run(
            [
                uv_binary(),
                "pip",
                "uninstall",
                "--quiet",
                "--python",
                str(plugin_env.python),
                fork.name,
            ],
            check=True,
            timeout=120,
        )


LIFECYCLE_PLUGIN = '''
"""A third party's life-cycle plugin, written from docs/plugins.md alone."""

import json
import os

import rerankit


def _log(event):
    with open(os.environ["CALL_LOG"], "a") as out:
        out.write(json.dumps(event) + "\\n")


@rerankit.hookimpl
def rerank_call_started(call):
    call.state["call_log"] = {"model": call.model, "documents": len(call.documents)}


@rerankit.hookimpl
def rerank_attempt_started(attempt):
    attempt.headers["x-call-log"] = "on"


@rerankit.hookimpl
def rerank_call_finished(call):
    event = call.state.pop("call_log")
    event["ok"] = call.error is None
    event["attempts"] = call.attempts
    _log(event)


@rerankit.hookimpl
def rerank_attempt_finished(attempt):
    raise RuntimeError("a bug in the plugin must not break the call")


@rerankit.hookimpl
def register_commands(cli):
    calls = cli.add_parser("calls", help="print the call log")
    calls.set_defaults(run=lambda args: print(open(os.environ["CALL_LOG"]).read(), end="") or 0)
'''


def test_a_third_party_life_cycle_plugin_observes_calls(
    plugin_env: PluginEnv, acme_server: tuple[str, list[Seen]], tmp_path: Path
) -> None:
    package = tmp_path / "rerankit-call-log"
    (package / "src" / "rerankit_call_log").mkdir(parents=True)
    (package / "src" / "rerankit_call_log" / "__init__.py").write_text(LIFECYCLE_PLUGIN)
    (package / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "rerankit-call-log"\nversion = "1.0"\ndependencies = ["rerankit"]\n'
        '[project.entry-points.rerankit]\ncall_log = "rerankit_call_log"\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/rerankit_call_log"]\n'
    )
    uv_install(plugin_env.python, package)
    url, seen = acme_server
    log = tmp_path / "calls.jsonl"
    try:
        env = {"CALL_LOG": str(log), "ACME_API_KEY": KEY, "ACME_API_BASE": url}
        rerank = plugin_env.run(
            plugin_env.bin / "rerankit", "rerank", "acme/m", "gpu", "-d", "gpu", "-d", "cat", **env
        )
        assert rerank.returncode == 0, rerank.stderr
        assert "a bug in the plugin" in rerank.stderr  # reported, and the call went on
        assert seen[-1].headers["x-call-log"] == "on"
        shown = plugin_env.run(plugin_env.bin / "rerankit", "calls", **env)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == {
            "model": "acme/m",
            "documents": 2,
            "ok": True,
            "attempts": 1,
        }
    finally:
        subprocess.run(
            [
                uv_binary(),
                "pip",
                "uninstall",
                "-q",
                "--python",
                str(plugin_env.python),
                "rerankit-call-log",
            ],
            check=True,
            timeout=120,
        )
