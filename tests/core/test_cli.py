"""The `rerankit` command: the installed script for the main paths, main() for the rest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rerankit
from rerankit.cli import main
from rerankit.testing import registered_plugin

SCRIPT = shutil.which("rerankit", path=str(Path(sys.executable).parent))


def run(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    assert SCRIPT, "the rerankit script is not installed beside this Python"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NVIDIA_", "RERANKIT_"))}
    return subprocess.run(
        [SCRIPT, *args], input=stdin, capture_output=True, text=True, env={**environ, **env}
    )


def test_rerank_local_bm25_table():
    result = run(
        "rerank",
        "local/bm25",
        "what is the memory bandwidth of H100",
        "-d",
        "H100 delivers 3TB/s",
        "-d",
        "A100 has 2TB/s",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["rank", "index", "score", "document"]
    assert lines[1].split()[:2] == ["1", "0"] and lines[1].endswith("H100 delivers 3TB/s")
    assert lines[2].split()[:2] == ["2", "1"]


def test_rerank_json_from_stdin_with_params():
    result = run(
        "rerank",
        "local/bm25",
        "red fruit",
        "--json",
        "-n",
        "1",
        "-p",
        "k1=1.2",
        stdin="green apple\nred cherry\n\n",
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["results"] == [
        {
            "index": 1,
            "relevance_score": body["results"][0]["relevance_score"],
            "document": {"text": "red cherry"},
        }
    ]
    assert body["meta"]["score_kind"] == "bm25"


def test_providers_lists_installed_with_key_state():
    result = run("providers", "--json", NVIDIA_NIM_API_KEY="nvapi-x")
    assert result.returncode == 0, result.stderr
    rows = {row["prefix"]: row for row in json.loads(result.stdout)}
    assert rows["nvidia_nim"]["distribution"] == "rerankit-nvidia-nim"
    assert rows["nvidia_nim"]["key"] == "set"
    assert "NVIDIA_NIM_API_KEY" in rows["nvidia_nim"]["env_vars"]
    assert rows["local"]["key"] == "none"
    assert "nvapi-x" not in result.stdout
    table = run("providers")
    assert "nvidia_nim" in table.stdout and "not set" in table.stdout


def test_providers_counts_a_key_set_under_an_alias():
    # CO_API_KEY is the Cohere SDK's own variable, read after COHERE_API_KEY.
    result = run("providers", "--json", CO_API_KEY="co-x", COHERE_API_KEY="")
    rows = {row["prefix"]: row for row in json.loads(result.stdout)}
    assert rows["cohere"]["key"] == "set"
    assert "CO_API_KEY" in rows["cohere"]["env_vars"]
    assert "co-x" not in result.stdout


def test_missing_key_exits_2_with_advice():
    result = run("rerank", "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2", "q", "-d", "a")
    assert result.returncode == 2
    assert "NVIDIA_NIM_API_KEY" in result.stderr


def test_unreachable_upstream_exits_1(capsys):
    code = main(
        [
            "rerank",
            "nvidia_nim/ranking/nvidia/m",
            "q",
            "-d",
            "a",
            "--api-base",
            "http://127.0.0.1:9",
            "--timeout",
            "3",
        ]
    )
    assert code == 1
    assert "Could not reach" in capsys.readouterr().err


def test_bad_input_exits_2(capsys):
    assert main(["rerank", "local/bm25", "q", "-d", "a", "-p", "nope=1"]) == 2
    assert "does not accept" in capsys.readouterr().err


def test_bad_param_syntax_is_a_usage_error():
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        main(["rerank", "local/bm25", "q", "-d", "a", "-p", "novalue"])


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "rerank" in capsys.readouterr().out


class HelloCommand:
    """A plugin adding `rerankit hello`."""

    @rerankit.hookimpl
    def register_commands(self, cli):
        hello = cli.add_parser("hello", help="say hello")
        hello.add_argument("--name", default="world")
        hello.set_defaults(run=lambda args: print(f"hello {args.name}") or 0)


class ClashingCommand:
    @rerankit.hookimpl
    def register_commands(self, cli):
        cli.add_parser("rerank")


def test_plugins_add_commands(capsys):

    with registered_plugin(HelloCommand()):
        assert main(["hello", "--name", "plugins"]) == 0
    assert capsys.readouterr().out == "hello plugins\n"


def test_a_clashing_plugin_command_names_the_plugin(capsys):

    with registered_plugin(ClashingCommand(), name="clasher"):
        assert main(["providers"]) == 2
    assert "'clasher'" in capsys.readouterr().err
