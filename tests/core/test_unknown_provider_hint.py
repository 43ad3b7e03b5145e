"""An unknown first-party prefix names the distribution and extra that serve it."""

from __future__ import annotations

import tomllib

import pytest

from rerankit import ProviderRegistry
from rerankit.errors import UnknownProviderError
from rerankit.registry import FIRST_PARTY_DISTRIBUTIONS, default_registry
from tests.packaging import rules


@pytest.mark.parametrize(
    ("prefix", "install"),
    [
        ("jina_ai", "pip install rerankit-jina (or pip install 'rerankit[jina]')"),
        ("together_ai", "pip install rerankit-together (or pip install 'rerankit[together]')"),
        ("hosted_vllm", "pip install rerankit-vllm (or pip install 'rerankit[vllm]')"),
        ("nvidia_nim", "pip install rerankit-nvidia-nim (or pip install 'rerankit[nvidia-nim]')"),
    ],
)
def test_first_party_prefix_names_its_distribution(prefix, install):
    with pytest.raises(UnknownProviderError) as caught:
        ProviderRegistry().get(prefix)
    assert install in str(caught.value)
    assert caught.value.prefix == prefix


def test_other_prefix_keeps_the_generic_hint():
    with pytest.raises(UnknownProviderError) as caught:
        ProviderRegistry().get("acme")
    assert "served by" not in str(caught.value)


def test_table_matches_the_installed_first_party_plugins_and_extras():
    # Every first-party provider of the workspace is installed: the table must say
    # exactly which distribution registers each prefix, and its extra must exist.
    served = {
        entry.prefix: entry.distribution
        for entry in default_registry().entries()
        if entry.distribution not in (None, "rerankit")
    }
    first_party = {rules.project(f)["name"] for f in rules.first_party()}
    expected = {p: d for p, d in served.items() if d in first_party}
    assert {p: d for p, (d, _) in FIRST_PARTY_DISTRIBUTIONS.items()} == expected
    core = tomllib.loads((rules.ROOT / "core" / "pyproject.toml").read_text())
    extras = core["project"]["optional-dependencies"]
    for distribution, extra in FIRST_PARTY_DISTRIBUTIONS.values():
        assert extras[extra][0].startswith(distribution + ">=")
