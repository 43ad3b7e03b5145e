"""Every ```python block of the README and docs/ runs, against the fake NIM server.

Blocks fenced as ```py are illustrations (signatures, fragments) and are not run.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.conftest import NIM_KEY

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

EXAMPLES = [
    pytest.param(code, id=f"{path.relative_to(ROOT)}#{n}")
    for path in FILES
    for n, code in enumerate(BLOCK.findall(path.read_text()), 1)
]


def test_docs_have_runnable_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code, nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<docs>", "exec"), {"__name__": "__docs__"})


def test_readme_example_answers_in_cohere_shape(nim, monkeypatch):
    monkeypatch.setenv("NVIDIA_NIM_API_BASE", nim.url)
    monkeypatch.setenv("NVIDIA_NIM_API_KEY", NIM_KEY)
    code = BLOCK.findall((ROOT / "README.md").read_text())[0]
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        exec(compile(code, "README.md", "exec"), namespace)
    dumped = namespace["response"].model_dump(exclude_none=True)
    assert set(dumped) >= {"results", "model", "id"}
    assert len(dumped["results"]) == 3
    assert set(dumped["results"][0]) == {"index", "relevance_score", "document"}
    assert nim.requests[-1].json["truncate"] == "END"
    assert "relevance_score" in out.getvalue()
