"""The scaffold's package meets the same publishing rules as the first-party ones."""

from __future__ import annotations

from rerankit.scaffold import write_scaffold
from tests.packaging import rules


def test_scaffolded_package_is_publishable(tmp_path):
    root = write_scaffold("acme", tmp_path)
    assert rules.problems(root, first_party=False) == []
    assert (root / "LICENSE").read_text() == rules.LICENSE_TEXT
