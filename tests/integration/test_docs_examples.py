"""Every ```python block of the README and docs/ runs, against the fake NIM server.

Blocks fenced as ```py are illustrations (signatures, fragments) and are not run. A
```python block followed directly by a ```text block shows its output: the test compares
what the code prints with it (`...` matches anything, as in doctest), so the prose shows
output and the checks live here rather than as asserts in the examples.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

from tests.conftest import NIM_KEY

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```\n(?:\s*\n)*(?:^```text\n(.*?)^```)?", re.S | re.M)
CHECKER = doctest.OutputChecker()
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

EXAMPLES = [
    pytest.param(code, output or None, id=f"{path.relative_to(ROOT)}#{n}")
    for path in FILES
    for n, (code, output) in enumerate(BLOCK.findall(path.read_text()), 1)
]


def test_docs_have_runnable_examples():
    assert len(EXAMPLES) >= 8
    assert sum(output is not None for _, output in (p.values for p in EXAMPLES)) >= 5


def test_output_blocks_are_compared():
    # The matcher itself: a wrong number in a shown output must fail.
    assert CHECKER.check_output("0 1.5 a\n", "0 1.5 a\n", OPTIONS)
    assert CHECKER.check_output("id ...\n", "id 4f2a\n", OPTIONS)
    assert not CHECKER.check_output("0 1.5 a\n", "0 1.6 a\n", OPTIONS)


@pytest.mark.parametrize(("code", "output"), EXAMPLES)
def test_example_runs(code, output, nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})
    if output is not None:
        got = printed.getvalue()
        assert CHECKER.check_output(output, got, OPTIONS), (
            f"the example printed:\n{got}\nbut the docs show:\n{output}"
        )


def test_readme_example_answers_in_cohere_shape(nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    code = BLOCK.findall((ROOT / "README.md").read_text())[0][0]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), namespace)
    dumped = namespace["response"].model_dump(exclude_none=True)
    assert set(dumped) >= {"results", "model", "id"}
    assert len(dumped["results"]) == 3
    assert set(dumped["results"][0]) == {"index", "relevance_score", "document"}
    assert nim.requests[-1].json["truncate"] == "END"
    assert "relevance_score" in out.getvalue()
