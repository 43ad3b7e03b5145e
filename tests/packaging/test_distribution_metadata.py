"""Every distribution of the repository is publishable: licence, classifiers, URLs, README,
py.typed, bounded versions (rules in tests/packaging/rules.py), and the core's extras
name every first-party provider."""

from __future__ import annotations

import tomllib

import pytest

from tests.packaging import rules

FOLDERS = rules.first_party()


def test_every_distribution_is_found():
    names = {rules.project(f)["name"] for f in FOLDERS}
    assert {"rerankit", "rerankit-nvidia-nim", "rerankit-cohere", "rerankit-local"} <= names


@pytest.mark.parametrize(
    "folder", FOLDERS, ids=[f.relative_to(rules.ROOT).as_posix() for f in FOLDERS]
)
def test_distribution_is_publishable(folder):
    assert rules.problems(folder) == []


def test_rules_catch_an_unpublishable_package(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "rerankit-bare"\nversion = "0.1.0"\n'
        'dependencies = ["rerankit>=0.1"]\nreadme = "README.md"\n'
    )
    (tmp_path / "README.md").write_text("# bare\nSee [docs](../../docs/x.md).\n")
    found = "\n".join(rules.problems(tmp_path))
    for expected in (
        'license = "Apache-2.0"',
        "add a LICENSE file",
        "'Typing :: Typed'",
        "add Homepage",
        "10 lines",
        "`pip install rerankit-bare`",
        "'../../docs/x.md' is relative",
        "[tool.hatch.build.targets.wheel]",
        "bound 'rerankit>=0.1' both ways",
        "version must be rerankit's",
    ):
        assert expected in found


def test_core_has_one_extra_per_first_party_provider_and_all():
    core = tomllib.loads((rules.ROOT / "core" / "pyproject.toml").read_text())
    extras = core["project"]["optional-dependencies"]
    sources = core["tool"]["uv"]["sources"]
    providers = {
        rules.project(f)["name"]: f.name
        for f in FOLDERS
        if f.parent.name == "providers" and f.name != "local"  # local ships with the core
    }
    for dist, folder in providers.items():
        assert extras.get(folder) == [f"{dist}>={rules.core_version()},<0.3"], folder
        # In the workspace the extra resolves to the member, not to the package index.
        assert sources.get(dist) == {"workspace": True}, dist
        assert folder in extras["all"][0], f"rerankit[all] lacks {folder}"
    assert "proxy" in extras["all"][0]
