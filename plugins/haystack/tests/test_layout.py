"""The package shares the `haystack_integrations.components.rankers` namespaces.

Every Haystack integration installs into `haystack_integrations`; an `__init__.py` at a
shared level would hide the others' components. The built wheel holds what is on disk here.
"""

from __future__ import annotations

from pathlib import Path

import haystack_integrations.components.rankers.rerankit

SRC = Path(__file__).resolve().parents[1] / "src"


def test_namespace_levels_have_no_init():
    shared = SRC / "haystack_integrations" / "components" / "rankers"
    for level in (shared.parents[1], shared.parent, shared):
        assert not (level / "__init__.py").exists(), level
    assert (shared / "rerankit" / "__init__.py").exists()


def test_the_component_imports_from_the_namespace():
    module = haystack_integrations.components.rankers.rerankit
    assert Path(module.__file__).is_relative_to(SRC)
    assert module.RerankitRanker.__name__ == "RerankitRanker"
