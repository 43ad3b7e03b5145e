"""The ```yaml, ```bash and ```console blocks of the README and docs/ are checked, as python
blocks are.

- yaml: every block parses; a proxy config (`model_list`) passes the proxy's own start-up
  checks (the environment variables it names are given placeholder values).
- bash: every block is valid shell (`bash -n`). Each `rerankit ...` command in it uses
  options the command has (a synopsis line, with `[...]`, is checked flag by flag). A
  `$ rerankit rerank local/...` line followed by output is run, and its output must match
  the one shown (`...` matches anything).
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import io
import re
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from rerankit.cli import _parser, main

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
CHECKER = doctest.OutputChecker()
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def blocks(language: str) -> list[pytest.param]:
    pattern = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M)
    return [
        pytest.param(code, id=f"{path.relative_to(ROOT)}#{n}")
        for path in FILES
        for n, code in enumerate(pattern.findall(path.read_text()), 1)
    ]


YAML = blocks("yaml")
BASH = blocks("(?:bash|console)")  # console: a shown session, `$ ` before commands


class Placeholders(Mapping[str, str]):
    """An environment in which every variable is set (to a long, key-like value)."""

    def __getitem__(self, name: str) -> str:
        return f"placeholder-{name.lower()}-0123456789abcdef"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@pytest.mark.parametrize("code", YAML)
def test_yaml_block(code, monkeypatch, tmp_path):
    # Cloud providers read credentials from their SDK's own chain at start-up: give the
    # AWS chain a fake key pair (signing needs no I/O), and no config files of this machine.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    data = yaml.safe_load(code)
    if isinstance(data, dict) and "model_list" in data:
        from rerankit_proxy import parse_config

        parse_config(data, source="docs", environ=Placeholders())


def commands(code: str) -> list[tuple[str, list[str]]]:
    """`(command, shown output lines)` of a block; `$ ` marks commands when present."""
    lines = code.replace("\\\n", " ").splitlines()
    prompted = any(line.startswith("$ ") for line in lines)
    found: list[tuple[str, list[str]]] = []
    for line in lines:
        if prompted and not line.startswith("$ "):
            if found:
                found[-1][1].append(line)
            continue
        text = line.removeprefix("$ ").split(" #")[0].strip()
        if text and not text.startswith("#"):
            found.append((text, []))
    return found


def rerankit_args(command: str) -> list[str] | None:
    """The arguments of a `rerankit` command line (also `uv run rerankit`), else None."""
    for part in command.split("&&"):
        if "rerankit " not in part:
            continue
        words = shlex.split(part.strip(), comments=True)
        if words[:2] == ["uv", "run"]:
            words = words[2:]
        if words[:1] == ["rerankit"]:
            return words[1:]
    return None


def options_of(args: list[str]) -> set[str]:
    parser = _parser()
    choices: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices = action.choices
    sub = choices.get(args[0]) if args else None
    return set((sub or parser)._option_string_actions)


#: Commands of a shown session the test runs in a scratch folder to prepare its files.
SETUP_COMMANDS = ("printf ", "echo ")


@pytest.mark.parametrize("code", BASH)
def test_bash_block(code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    prompted = any(line.startswith("$ ") for line in code.splitlines())
    shell = "\n".join(c for c, _ in commands(code)) if prompted else code
    checked = subprocess.run(["bash", "-n"], input=shell, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    for command, shown in commands(code):
        if prompted and command.startswith(SETUP_COMMANDS):
            subprocess.run(["bash", "-c", command], check=True, cwd=tmp_path)
            continue
        args = rerankit_args(command)
        if args is None:
            continue
        if "[" in command or "..." in command:  # a synopsis: check each flag exists
            flags = {w.strip("[]").split("=")[0] for w in args if w.strip("[").startswith("-")}
            assert flags <= options_of(args), f"unknown options in {command!r}"
            continue
        try:
            _parser().parse_args(args)
        except SystemExit as exc:
            if exc.code == 0:  # --version, --help
                continue
            pytest.fail(f"the command does not accept: {command!r}\n{capsys.readouterr().err}")
        if shown and (args[:1] == ["providers"] or args[:2][-1].startswith("local/")):
            capsys.readouterr()
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                assert main(args) == 0
            want = "\n".join(shown) + "\n"
            assert CHECKER.check_output(want, printed.getvalue(), OPTIONS), (
                f"{command!r} printed:\n{printed.getvalue()}\nbut the docs show:\n{want}"
            )


def test_blocks_are_found():
    assert len(YAML) >= 2
    assert len(BASH) >= 10


def test_a_stale_output_or_option_is_caught(capsys, tmp_path, monkeypatch):
    stale = (
        '$ rerankit rerank local/bm25 "h100" -d "H100 delivers 3TB/s" -d "A100"\n'
        "rank  index       score  document\n"
        "   1      0      9.9999  H100 delivers 3TB/s\n"
        "   2      1      0.0000  A100\n"
    )
    check = {"capsys": capsys, "tmp_path": tmp_path, "monkeypatch": monkeypatch}
    with pytest.raises(AssertionError, match="printed"):
        test_bash_block(stale, **check)
    with pytest.raises(pytest.fail.Exception, match="does not accept"):
        test_bash_block("rerankit rerank local/bm25 q --no-such-flag\n", **check)
    with pytest.raises(AssertionError, match="unknown options"):
        test_bash_block("rerankit providers [--no-such-flag]\n", **check)
