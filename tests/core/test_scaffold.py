"""`rerankit new-provider`: names, validation, refusal to overwrite, generated files."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rerankit.cli import main
from rerankit.errors import ConfigurationError, InvalidRequestError
from rerankit.scaffold import ScaffoldNames, scaffold_files, write_scaffold

EXPECTED_FILES = {
    "pyproject.toml",
    "LICENSE",
    "README.md",
    "src/rerankit_acme/__init__.py",
    "src/rerankit_acme/provider.py",
    "src/rerankit_acme/py.typed",
    "tests/test_contract.py",
}


def test_names_derive_from_the_prefix():
    names = ScaffoldNames.for_prefix("acme_cloud")
    assert names == ScaffoldNames(
        name="acme_cloud",
        distribution="rerankit-acme-cloud",
        package="rerankit_acme_cloud",
        class_name="AcmeCloudProvider",
        title="Acme Cloud",
        key_env="ACME_CLOUD_API_KEY",
        base_env="ACME_CLOUD_API_BASE",
    )


def test_a_leading_digit_still_gives_valid_identifiers():
    names = ScaffoldNames.for_prefix("4x")
    assert names.class_name.isidentifier()
    assert names.key_env == "RERANK_4X_API_KEY"
    assert names.package == "rerankit_4x"


@pytest.mark.parametrize("name", ["Acme", "acme-cloud", "acme/x", "", "_", "a b", "ümlaut"])
def test_invalid_names_are_refused(name):
    with pytest.raises(InvalidRequestError, match="not a valid prefix"):
        ScaffoldNames.for_prefix(name)


def test_files_are_complete_and_templates_fully_substituted():
    files = scaffold_files("acme")
    assert set(files) == EXPECTED_FILES
    for path, text in files.items():
        assert "${" not in text, path
        if path.endswith(".py"):
            ast.parse(text, path)
    assert '[project.entry-points.rerankit]\nacme = "rerankit_acme"' in files["pyproject.toml"]
    assert 'name = "rerankit-acme"' in files["pyproject.toml"]
    assert 'register("acme", AcmeProvider())' in files["src/rerankit_acme/__init__.py"]
    assert '"ACME_API_KEY"' in files["src/rerankit_acme/provider.py"]


@pytest.mark.parametrize("name", ["acme", "some_long_vendor_name_here"])
def test_generated_code_passes_ruff_check_and_format(tmp_path, name):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    root = write_scaffold(name, tmp_path)
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *command, "--no-cache", "."], cwd=root, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_refuses_an_existing_folder_and_writes_nothing(tmp_path):
    (tmp_path / "rerankit-acme").mkdir()
    (tmp_path / "rerankit-acme" / "mine.txt").write_text("keep me")
    with pytest.raises(ConfigurationError, match="already exists"):
        write_scaffold("acme", tmp_path)
    assert [p.name for p in (tmp_path / "rerankit-acme").iterdir()] == ["mine.txt"]


def test_refuses_an_installed_prefix_unless_forced(tmp_path, capsys):
    # rerankit-cohere is installed in this environment and registers `cohere`.
    with pytest.raises(ConfigurationError, match=r"already registered by the installed cohere"):
        write_scaffold("cohere", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert main(["new-provider", "cohere", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "rerankit-cohere" in err and "--force" in err
    assert main(["new-provider", "cohere", "--output", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "rerankit-cohere" / "pyproject.toml").is_file()


def test_cli_writes_into_the_current_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new-provider", "acme"]) == 0
    written = {
        str(p.relative_to(tmp_path / "rerankit-acme"))
        for p in (tmp_path / "rerankit-acme").rglob("*")
        if p.is_file()
    }
    assert written == EXPECTED_FILES
    assert "rerankit-acme" in capsys.readouterr().out


def test_cli_output_option_and_errors(tmp_path, capsys):
    target = tmp_path / "plugins"
    assert main(["new-provider", "acme", "--output", str(target)]) == 0
    assert (target / "rerankit-acme" / "pyproject.toml").is_file()
    assert main(["new-provider", "acme", "--output", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["new-provider", "Not-Valid", "--output", str(target)]) == 2
    assert "not a valid prefix" in capsys.readouterr().err
