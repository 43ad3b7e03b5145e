"""The package shares the `llama_index` and `llama_index.postprocessor` namespaces.

An `__init__.py` at either level would shadow llama-index-core's `llama_index` for every
user who installs this package; the built wheel holds exactly what is on disk here.
"""

from __future__ import annotations

from pathlib import Path

import llama_index.core

import llama_index.postprocessor.rerankit

ROOT = Path(__file__).resolve().parents[1]


def test_namespace_levels_have_no_init():
    assert not (ROOT / "llama_index" / "__init__.py").exists()
    assert not (ROOT / "llama_index" / "postprocessor" / "__init__.py").exists()
    assert (ROOT / "llama_index" / "postprocessor" / "rerankit" / "__init__.py").exists()


def test_both_distributions_import_side_by_side():
    assert Path(llama_index.postprocessor.rerankit.__file__).is_relative_to(ROOT)
    assert not Path(llama_index.core.__file__).is_relative_to(ROOT)
