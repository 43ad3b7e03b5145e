"""The proxy plugin's shape: rerankit's public API only, no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import rerankit_proxy

SOURCE = Path(rerankit_proxy.__file__).parent
MODULES = sorted(p.stem for p in SOURCE.glob("*.py") if p.stem != "__init__")


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in `path`, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "rerankit_proxy" + (f".{node.module}" if node.module else "")
                if not node.module:  # from . import x
                    found += [(f"{base}.{a.name}", node.lineno) for a in node.names]
                    continue
                found.append((base, node.lineno))
            else:
                assert node.module is not None
                found += [(node.module, node.lineno)]
                found += [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
    return found


def test_only_rerankits_public_api_is_imported():
    private = [
        f"{path.name}:{line}: {name}"
        for path in SOURCE.glob("*.py")
        for name, line in _imports(path)
        if name.startswith("rerankit.")
        and any(p.startswith("_") and not p.startswith("__") for p in name.split(".")[1:])
    ]
    assert private == []


def test_the_scan_sees_a_private_import(tmp_path):
    # the check above would pass on a scanner that finds nothing
    path = tmp_path / "m.py"
    path.write_text("from rerankit._pipeline import prepare\nimport rerankit._client\n")
    assert [name for name, _ in _imports(path)] == [
        "rerankit._pipeline",
        "rerankit._pipeline.prepare",
        "rerankit._client",
    ]


def _graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports at import time or lazily."""
    graph = {}
    for name in MODULES:
        targets = {n.removeprefix("rerankit_proxy.") for n, _ in _imports(SOURCE / f"{name}.py")}
        graph[name] = {t for t in targets if t in MODULES and t != name}
    return graph


def test_the_import_graph_has_no_cycle():
    graph, done, path = _graph(), set(), []

    def visit(module: str) -> None:
        if module in path:
            raise AssertionError(" -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for target in sorted(graph[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in MODULES:
        visit(module)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module):
    code = f"import rerankit_proxy.{module}"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_loading_the_plugin_stays_light():
    # every rerankit process that loads plugins imports rerankit_proxy.plugin
    code = (
        "import sys, rerankit_proxy.plugin; "
        "heavy = ('uvicorn', 'yaml', 'aiohttp', 'rerankit_proxy.app', 'rerankit_proxy.server'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
