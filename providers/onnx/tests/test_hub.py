"""`onnx/<repo id>` through huggingface_hub's real cache code, offline.

A fresh process gets `HF_HOME` pointing at a cache laid out the way huggingface_hub writes
it (`hub/models--owner--name/{refs/main, snapshots/<commit>/...}`) and
`HF_HUB_OFFLINE=1`: a cached repository loads without any network, and a missing one is
an error naming the cache and how to fetch it. huggingface_hub reads these variables at
import, hence the subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"

SCRIPT = """
import json, sys
import rerankit
from rerankit.errors import InvalidModelError

out = {}
response = rerankit.rerank("onnx/acme/tiny-reranker", "red fruit", ["green apple", "red cherry"])
out["scores"] = {r.index: r.relevance_score for r in response.results}
pinned = rerankit.rerank(f"onnx/acme/tiny-reranker@{sys.argv[1]}", "red fruit", ["red cherry"])
out["pinned"] = pinned.results[0].relevance_score
xenova = rerankit.rerank("onnx/acme/xenova-reranker", "red fruit", ["red cherry"])
out["xenova"] = xenova.results[0].relevance_score
quantized = rerankit.rerank(
    "onnx/acme/tiny-reranker", "red fruit", ["red cherry"], onnx_file="model_quantized.onnx"
)
out["quantized"] = quantized.results[0].relevance_score
try:
    rerankit.rerank("onnx/acme/absent", "red fruit", ["red cherry"])
except InvalidModelError as exc:
    out["missing"] = str(exc)
print(json.dumps(out))
"""


def test_cached_repository_loads_offline_and_a_missing_one_says_how_to_fetch(
    tiny, direct, tmp_path
):
    home = tmp_path / "hf"
    for name, files in (("tiny-reranker", tiny.bert), ("xenova-reranker", tiny.xenova)):
        repo = home / "hub" / f"models--acme--{name}"
        shutil.copytree(files, repo / "snapshots" / COMMIT)
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(COMMIT)
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, COMMIT],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    reference = direct(tiny.bert, "red fruit", ["green apple", "red cherry"])
    assert [out["scores"]["0"], out["scores"]["1"]] == pytest.approx(reference, abs=1e-5)
    assert out["pinned"] == pytest.approx(reference[1], abs=1e-5)
    [xenova] = direct(tiny.xenova, "red fruit", ["red cherry"], onnx_file="onnx/model.onnx")
    assert out["xenova"] == pytest.approx(xenova, abs=1e-5)  # onnx/model.onnx layout
    [quantized] = direct(
        tiny.bert, "red fruit", ["red cherry"], onnx_file="onnx/model_quantized.onnx"
    )
    assert out["quantized"] == pytest.approx(quantized, abs=1e-5)
    assert str(home / "hub") in out["missing"]
    assert "HF_HUB_OFFLINE is set" in out["missing"]
    assert "hf download acme/absent" in out["missing"]
