"""`rerankit-local` after the move of BM25 into the core: a deprecated alias, no duplicate."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys

import pytest

from rerankit.default_plugins import local


def test_the_core_distribution_serves_local_even_with_rerankit_local_installed():
    # The workspace installs both; the shim registers no entry point of its own.
    assert importlib.metadata.version("rerankit-local")
    shim = importlib.metadata.distribution("rerankit-local")
    assert [ep for ep in shim.entry_points if ep.group == "rerankit"] == []
    code = (
        "from rerankit.registry import default_registry as d; "
        "e = [e for e in d().entries() if e.prefix == 'local'][0]; "
        "print(e.distribution, type(e.provider).__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["rerankit", "rerankit.default_plugins.local.provider"]


def test_old_import_path_warns_and_is_the_same_provider():
    sys.modules.pop("rerankit_local", None)
    with pytest.warns(DeprecationWarning, match=r"rerankit\.default_plugins\.local"):
        shim = importlib.import_module("rerankit_local")
    assert shim.LocalBM25Provider is local.LocalBM25Provider
    bm25 = importlib.import_module("rerankit_local.bm25")
    assert bm25.bm25_scores("a", ["a", "b"])[0] > 0
